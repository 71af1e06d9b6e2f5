"""Signed one-click links: the rules of the token itself, with explicit instants."""

from __future__ import annotations

import pytest
from django.core import signing

from oncall import links
from tests.oncall.paging_fixtures import T0, minutes


def test_a_link_names_its_page_person_and_action():
    token = links.page_link_token(page_id=7, user_id=3, action="resolve", now=T0)
    link = links.page_link_read(token, now=T0 + minutes(5))
    assert (link.page_id, link.user_id, link.action) == (7, 3, "resolve")
    assert link.expires_at == T0 + links.LINK_LIFETIME


def test_a_link_expires_after_its_lifetime():
    token = links.page_link_token(page_id=7, user_id=3, action="acknowledge", now=T0)
    links.page_link_read(token, now=T0 + links.LINK_LIFETIME - minutes(1))
    with pytest.raises(links.LinkExpired):
        links.page_link_read(token, now=T0 + links.LINK_LIFETIME)


@pytest.mark.parametrize("token", ["", "nonsense", "a:b:c", "eyJwIjoxfQ:1xl620:AAAA"])
def test_garbage_is_invalid(token):
    with pytest.raises(links.LinkInvalid):
        links.page_link_read(token, now=T0)


def test_a_token_signed_for_another_purpose_is_invalid():
    other = signing.dumps({"p": 7, "u": 3, "a": "acknowledge", "e": 4102444800}, salt="something-else")
    with pytest.raises(links.LinkInvalid):
        links.page_link_read(other, now=T0)


def test_only_known_actions_are_signed():
    with pytest.raises(ValueError, match="Unknown page link action"):
        links.page_link_token(page_id=7, user_id=3, action="delete", now=T0)
