"""The blameless check warns about blame phrases and names, and stays quiet on a clean text."""

from __future__ import annotations

import pytest

from postmortems.blameless import PHRASES, check

NAMES = ["Bob", "Brooks", "Bob Brooks", "bob"]


@pytest.mark.parametrize("phrase", list(PHRASES))
def test_each_listed_phrase_is_flagged_with_a_reason(phrase):
    findings = check(f"The outage happened because of {phrase} during the deploy.")
    assert [f.text for f in findings] == [phrase]
    assert findings[0].reason


def test_peoples_names_are_flagged():
    findings = check("Bob Brooks pushed the config at 09:58.", names=NAMES)
    assert {f.text for f in findings} == {"Bob", "Brooks", "Bob Brooks"}


def test_a_clean_text_is_not_flagged():
    text = (
        "A config change lowered the database connection limit. A traffic spike then exhausted the pool. "
        "No alert watched pool use, and the deploy pipeline had no canary for connection limits. "
        "The on-call engineer rolled the change back at 10:12 and errors returned to baseline by 10:20. "
        "We will bobsled past this: blameworthy-free, no faultless claims."
    )
    assert check(text, names=NAMES) == []
