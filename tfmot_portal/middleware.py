"""Request and response rules for every page.

Parameters no database can store are refused: PostgreSQL text cannot hold a NUL character: a query parameter or form field with one
would reach a filter or a save and fail there with a 500. Such a request is a 400 here,
whatever page it is for. Form bodies (URL-encoded or multipart, as browsers and the
autosave script send them) are read here as Django's CSRF check reads them; JSON and
XML bodies are left to their parsers.

Responses to signed-in requests and downloads are never stored by a cache
(``PrivateResponses``).
"""

from __future__ import annotations

from django.http import HttpResponseBadRequest

FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def _holds_nul(data) -> bool:
    return any("\x00" in key or any("\x00" in v for v in values) for key, values in data.lists())


class RefuseUnstorableParameters:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        form = request.method == "POST" and request.content_type in FORMS
        if _holds_nul(request.GET) or (form and _holds_nul(request.POST)):
            return HttpResponseBadRequest(
                "A parameter holds a NUL character, which cannot be stored.",
                content_type="text/plain",
            )
        return self.get_response(request)


def _is_download(response) -> bool:
    return response.get("Content-Disposition", "").lower().startswith("attachment")


class PrivateResponses:
    """``Cache-Control: private, no-store`` on every response to a signed-in request and
    on every download (CSV, OWNERS), whatever the view set: no proxy or CDN stores them
    (many ignore ``Vary: Cookie``) and the back button does not show them after sign-out.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        if signed_in or _is_download(response):
            response["Cache-Control"] = "private, no-store"
            if "Expires" in response:
                del response["Expires"]
        return response
