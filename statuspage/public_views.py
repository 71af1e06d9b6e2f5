"""Views of the status host. Reads come from the published snapshot and run no SQL.

Only the subscription links write, and they never set a cookie: the status host keeps
no session, so proxies may cache every page.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from config.errors import DomainError
from statuspage import publishing, services, snapshots
from statuspage.models import Component, StatusPage


def _host(request: HttpRequest) -> str:
    return request.get_host().rsplit(":", 1)[0].lower().rstrip(".")


def _from_snapshot(request: HttpRequest, document: snapshots.Document) -> HttpResponse:
    status, headers, body = snapshots.respond(
        document,
        if_none_match=request.headers.get("If-None-Match", ""),
        accept_encoding=request.headers.get("Accept-Encoding", ""),
        head=request.method == "HEAD",
    )
    response = HttpResponse(body, status=status)
    for name, value in headers:
        response[name] = value
    return response


@login_not_required
@require_http_methods(["GET", "HEAD"])
def snapshot(request: HttpRequest) -> HttpResponse:
    host = _host(request)
    documents = snapshots.documents_for(host)
    if documents is None and not snapshots.known_missing(host):
        if publishing.snapshot_refill(host):
            documents = snapshots.documents_for(host)
        else:
            snapshots.mark_missing(host)
    if documents is None:
        return HttpResponse("No status page is published at this address.", status=404, content_type="text/plain")
    document = documents.get(snapshots.normalize_path(request.path)) or documents["/404"]
    return _from_snapshot(request, document)


def _page(request: HttpRequest) -> StatusPage | None:
    return StatusPage.objects.filter(host=_host(request)).first()


def _message(request: HttpRequest, page: StatusPage | None, title: str, text: str, status: int = 200) -> HttpResponse:
    context = {"page": page, "title": title, "text": text}
    return render(request, "statuspage/public/message.html", context, status=status)


@login_not_required
@csrf_exempt  # The form lives in a shared cached page, which cannot carry a per-visitor token.
@require_POST
def subscribe(request: HttpRequest) -> HttpResponse:
    page = _page(request)
    if page is None:
        return _message(request, None, "Not found", "No status page is published at this address.", 404)
    wanted = request.POST.getlist("components")[:100]
    components = list(Component.objects.filter(page=page, public_id__in=wanted))
    try:
        services.subscription_request(page=page, email=request.POST.get("email", "")[:254], components=components)
    except DomainError as exc:
        return _message(request, page, "Subscription not started", exc.message, 400)
    return _message(
        request, page, "Check your inbox", "If the address can receive mail, a link to confirm is on its way."
    )


@login_not_required
@csrf_exempt  # Reached from a mail, with no token of ours; the signed link is the credential.
@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    if request.method != "POST":
        # A GET only asks: mail scanners open links, and must not subscribe anyone.
        return render(request, "statuspage/public/confirm.html", {"page": _page(request), "token": token})
    try:
        subscriber = services.subscription_confirm(token=token)
    except DomainError as exc:
        return _message(request, _page(request), "Link not valid", exc.message, 400)
    return _message(request, subscriber.page, "Subscribed", f"You will get notices from {subscriber.page.name}.")


@login_not_required
@csrf_exempt  # RFC 8058 one-click unsubscribe posts from the mail client, with no token of ours.
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    if request.method != "POST":
        # A GET only asks: mail scanners open links, and must not unsubscribe anyone.
        return render(request, "statuspage/public/unsubscribe.html", {"page": _page(request), "token": token})
    try:
        page = services.subscription_cancel(token=token)
    except DomainError as exc:
        return _message(request, _page(request), "Link not valid", exc.message, 400)
    return _message(request, page, "Unsubscribed", f"You will get no more notices from {page.name}.")
