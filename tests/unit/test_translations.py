"""The English catalog covers every message the code and templates use, placeholders intact."""

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "_l": None,
    "lazy_gettext": None,
    "N_": None,
}
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def used_messages() -> set[str]:
    found = set()
    method_map = [("**.html", "jinja2"), ("**.py", "python")]
    for folder in ("core", "blueprints", "templates"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder, method_map, keywords=KEYWORDS, options_map={"**.html": {}}
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def english() -> dict[str, str]:
    """Source -> translation; a plural message gives one pair per form (singular, plural),
    its plural source and translation marked as such, and an untranslated form counts empty."""
    with open(ROOT / "translations/en/LC_MESSAGES/messages.po", "rb") as handle:
        catalog = read_po(handle)
    pairs: dict[str, str] = {}
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        if isinstance(message.id, str):
            pairs[message.id] = message.string
            continue
        singular, plural = message.id
        forms = list(message.string) + [""] * 2
        pairs[singular] = forms[0]
        pairs[f"{plural} (plural)"] = forms[1] and f"{forms[1]} (plural)"
    return pairs


def test_every_message_has_an_english_translation() -> None:
    used = used_messages()
    assert len(used) > 100
    translated = english()
    missing = sorted(m for m in used if not translated.get(m))
    assert missing == []
    assert [source for source, target in translated.items() if not target] == []


def test_placeholders_survive_translation() -> None:
    for source, target in english().items():
        if not target:
            continue  # reported by the test above
        assert sorted(PLACEHOLDER.findall(source)) == sorted(PLACEHOLDER.findall(target)), source
