"""API search with bounded input: a search term list that the database can always run
(SQLite refuses LIKE patterns over 50,000 bytes and expression trees over 1,000 deep)."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.filters import SearchFilter

MAX_SEARCH_CHARS = 200
MAX_SEARCH_TERMS = 10


class BoundedSearchFilter(SearchFilter):
    """DRF's SearchFilter; a search over 200 characters or 10 words is a 400."""

    def get_search_terms(self, request):
        value = request.query_params.get(self.search_param, "")
        if len(value) > MAX_SEARCH_CHARS:
            raise exceptions.ValidationError(
                {self.search_param: f"Search for at most {MAX_SEARCH_CHARS} characters."}
            )
        terms = super().get_search_terms(request)
        if len(terms) > MAX_SEARCH_TERMS:
            raise exceptions.ValidationError(
                {self.search_param: f"Search for at most {MAX_SEARCH_TERMS} words."}
            )
        return terms
