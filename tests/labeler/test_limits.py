import pytest

from labeler.limits import TEXT_LIMITS, InvalidText, check_text


def test_text_within_its_limit_is_returned_unchanged():
    text = "x" * TEXT_LIMITS["expression"]
    assert check_text("expression", text) == text


@pytest.mark.parametrize(
    "value, message",
    [
        (
            "x" * (TEXT_LIMITS["expression"] + 1),
            "expression is 501 characters long; the limit is 500",
        ),
        ("the\x00cat", r"control character \(U\+0000\)"),
        ("the\x1b[31mcat", r"control character \(U\+001B\)"),
        ("   ", "expression is empty"),
        (42, "must be text"),
    ],
)
def test_bad_text_is_refused_with_the_field_named(value, message):
    with pytest.raises(InvalidText, match=message):
        check_text("expression", value)


def test_empty_is_allowed_where_asked():
    assert check_text("owner", "", allow_empty=True) == ""
