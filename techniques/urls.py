from django.urls import path

from techniques import views

app_name = "techniques"

urlpatterns = [
    path("", views.home, name="home"),
    path("techniques/<slug:slug>/", views.technique_detail, name="detail"),
    path("techniques/<slug:slug>/docstring.txt", views.technique_docstring, name="docstring"),
    path("owners/", views.owners, name="owners"),
    path("owners/OWNERS.md", views.owners_md, name="owners_md"),
    path("owners/CODEOWNERS", views.codeowners, name="codeowners"),
    path("me/", views.landing, name="landing"),
    path("me/techniques/", views.my_techniques, name="mine"),
    path("groups/", views.groups, name="groups"),
    path("groups/<slug:slug>/", views.group_detail, name="group"),
    path("search/", views.search_page, name="search"),
    path("audit/", views.audit_trail, name="audit"),
]
