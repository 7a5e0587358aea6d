from sot_builder.slugs import Slugger, slug


def test_github_slugs():
    assert slug("PIC-001: Stripe Payment Processing") == "pic-001-stripe-payment-processing"
    assert slug("BR-001 | Rate limit") == "br-001--rate-limit"
    assert slug("UJ-101 — Discover cafés") == "uj-101--discover-cafés"
    assert slug("API-045: POST /payments/charge") == "api-045-post-paymentscharge"
    assert slug("Use `code` and **bold** [link](x.md)") == "use-code-and-bold-link"
    assert slug("snake_case_name") == "snake_case_name"


def test_duplicate_suffixes():
    s = Slugger()
    assert [s("A"), s("A"), s("A-1"), s("A")] == ["a", "a-1", "a-1-1", "a-2"]


def test_backslash_escapes_are_literal_text():
    assert slug(r"PIC-002: \<b\>x\</b\> 7\*7") == "pic-002-bxb-77"
    assert slug("A <b>bold</b> move") == "a-bold-move"
