"""A scenario's secrets never leave the mock: masked in its YAML (as written otherwise) on the
dashboard's scenario page and in ``GET /__admin/scenario``, and in the settings table."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_server import Settings
from mock_server.scenarios.masking import MASK, SECRETS, UNREADABLE, YAML_MASK, masked_settings, masked_yaml
from mock_server.scenarios.reading import parse_scenario
from tests.support.client import MakeApi
from tests.support.hypothesis_profiles import examples

PASSWORD, TOKEN, OTHER_TOKEN, ADMIN_TOKEN = "pw-3f9a1c", "tok-77b2e0", "tok-5d11aa", "adm-90c4d2e8"
CLIENT_SECRET = "p8e-c1d2"
SECRET_VALUES = (PASSWORD, TOKEN, OTHER_TOKEN, ADMIN_TOKEN, CLIENT_SECRET)

#: The same secrets written every way YAML allows: flow and block maps, plain, single-quoted,
#: double-quoted (with an escape), a block scalar, an explicit ``? key``, a tag, an anchor whose
#: alias sets another user's password, and comments that must stay.
DOCUMENTS = {
    "flow, plain": f"""\
description: flow style  # a comment that stays
settings: {{users: {{admin: {PASSWORD}, bob: "{OTHER_TOKEN}"}}, tokens: {{{TOKEN}: developer}}}}
admin: {{token: {ADMIN_TOKEN}}}
ims: {{clients: {{cloud-client: {CLIENT_SECRET}}}, token_ttl: 1h}}
""",
    "block, quoted": f"""\
# the team's scenario
description: block style
settings:
  users:
    admin: '{PASSWORD}'   # single-quoted
    bob: "{OTHER_TOKEN[:4]}\\x{ord(OTHER_TOKEN[4]):02x}{OTHER_TOKEN[5:]}"
  tokens:
    ? {TOKEN}
    : developer
    "{OTHER_TOKEN}x": ci
admin:
  token: !!str {ADMIN_TOKEN}
ims:
  clients:
    cloud-client: "{CLIENT_SECRET}"
""",
    "block scalar, anchor and alias": f"""\
description: anchors
settings:
  users:
    admin: &shared |
      {PASSWORD}
    bob: *shared
  tokens: {{{TOKEN}: developer}}
admin: {{enabled: true, token: "{ADMIN_TOKEN}"}}
ims: {{clients: {{cloud-client: &client '{CLIENT_SECRET}', second: *client}}}}
""",
}


@pytest.mark.parametrize("name", list(DOCUMENTS))
def test_every_secret_is_masked_and_the_rest_kept_as_written(name: str) -> None:
    text = DOCUMENTS[name]
    shown = masked_yaml(text)
    for secret in SECRET_VALUES:
        assert secret not in shown, (secret, shown)
    assert len(shown.splitlines()) == len(text.splitlines())  # line for line: line numbers hold
    for before, after in zip(text.splitlines(), shown.splitlines(), strict=True):
        assert after == before or "(not shown" in after or not after.strip(), (before, after)
        assert "#" not in before or before[before.index("#") :] in after  # comments stay
    read = yaml.safe_load(shown)  # still YAML, read as the original but for the secrets
    original = yaml.safe_load(text)
    assert read["description"] == original["description"]
    assert set(read["settings"]["users"]) == set(original["settings"]["users"])  # the user ids stay
    assert set(read["settings"]["users"].values()) == {"(not shown)"}
    assert len(read["settings"]["tokens"]) == len(original["settings"]["tokens"])  # numbered keys
    assert set(read["settings"]["tokens"].values()) == set(original["settings"]["tokens"].values())
    assert read["admin"]["token"] == "(not shown)"
    assert set(read["ims"]["clients"]) == set(original["ims"]["clients"])  # the client ids stay
    assert set(read["ims"]["clients"].values()) == {"(not shown)"}
    parse_scenario(text)  # the documents are scenarios the mock accepts


def test_a_secret_that_is_also_written_elsewhere_is_masked_only_where_it_is_a_secret() -> None:
    text = "description: admin runs manual\nclock: manual\nsettings: {users: {admin: admin, qa: manual}}\n"
    shown = 'description: admin runs manual\nclock: manual\nsettings: {users: {admin: "(not shown)", '
    assert masked_yaml(text) == shown + 'qa: "(not shown)"}}\n'


def test_an_anchor_elsewhere_is_masked_where_it_is_written_and_its_alias_kept() -> None:
    text = f"description: &pw {PASSWORD}\nsettings: {{users: {{admin: *pw}}, tokens: {{*pw : dev}}}}\n"
    parse_scenario(text)
    assert masked_yaml(text) == (
        'description: &pw "(not shown 1)"\nsettings: {users: {admin: *pw}, tokens: {*pw : dev}}\n'
    )
    both = f"description: d\nsettings: {{tokens: {{&t {TOKEN}: dev}}}}\nadmin: {{token: *t}}\n"
    parse_scenario(both)  # one node, a key first and a value then: still a numbered key
    shown = 'description: d\nsettings: {tokens: {&t "(not shown 1)": dev}}\nadmin: {token: *t}\n'
    assert masked_yaml(both) == shown


def test_a_byte_order_mark_moves_no_mask() -> None:
    """libyaml's marks do not count a leading BOM: every span would start one character early."""
    text = "\ufeffsettings:\n  users:\n    admin: hunter2secret"
    assert masked_yaml(text) == '\ufeffsettings:\n  users:\n    admin: "(not shown)"'


@pytest.mark.parametrize(
    "text",
    [
        "settings: {users: {admin: |2\n      pw-indented\n    }}\n",  # an indentation indicator
        "x: &s {users: {admin: {a: {b: pw-deep}}}}\nsettings: *s\n",  # a map where a password goes
        "settings: {users: [pw-listed]}\n",
        f"settings: {{users: {{admin: {PASSWORD}}}}}\n---\n[",
    ],
    ids=["block scalar indented by an indicator", "map at a password", "list of users", "broken"],
)
def test_what_cannot_be_masked_surely_is_not_shown(text: str) -> None:
    assert masked_yaml(text) == UNREADABLE


def test_a_span_that_does_not_read_back_as_its_value_is_not_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    """Were the marks off by a character (as a BOM made them), the check fails closed."""
    from mock_server.scenarios import masking

    monkeypatch.setattr(masking, "_after_properties", lambda text, start, end: start + 1)
    assert masked_yaml(f"settings: {{users: {{admin: &a {PASSWORD}}}}}\n") == UNREADABLE


def test_an_anchored_map_aliased_into_the_settings_is_masked_where_it_is_written() -> None:
    common = f"&common {{users: {{admin: {PASSWORD}}}, tokens: {{{TOKEN}: admin}}}}"
    text = f"description: shared\nfaults: [{{status: 500, body: {common}}}]\nsettings: *common\n"
    parse_scenario(text)
    shown = masked_yaml(text)
    assert PASSWORD not in shown and TOKEN not in shown
    assert '{users: {admin: "(not shown)"}, tokens: {"(not shown 1)": admin}}' in shown


def test_text_without_secrets_is_unchanged_and_unreadable_text_is_not_shown() -> None:
    plain = "# nothing secret\ndescription: d\nsettings: {history_size: 2}\n"
    assert masked_yaml(plain) == plain and masked_yaml("") == ""
    assert masked_yaml(f"settings: {{users: {{admin: {PASSWORD}}}\n  [") == UNREADABLE  # fails closed


def test_one_list_names_the_secret_settings() -> None:
    every = Settings(admin_token=ADMIN_TOKEN, tokens={TOKEN: "dev"}, login_tokens={OTHER_TOKEN: "dev"},
                     ims_clients={"cloud-client": CLIENT_SECRET})  # fmt: skip
    fields = {f.name: getattr(every, f.name) for f in dataclasses.fields(Settings)}
    shown = masked_settings(fields)
    assert {name for name, value in shown.items() if value == MASK} == {s.setting for s in SECRETS}
    assert shown["realm"] == Settings().realm
    assert masked_settings({"admin_token": None})["admin_token"] is None  # unset: nothing to hide
    assert {s.setting for s in SECRETS} <= {f.name for f in dataclasses.fields(Settings)}


async def test_the_scenario_page_and_the_admin_api_never_show_a_secret(make_api: MakeApi) -> None:
    api = await make_api()
    document = DOCUMENTS["block, quoted"].replace("admin:\n  token:", "admin:\n  enabled: true\n  token:")
    status, body = await api.admin("PUT", "/scenario", data=document, headers={"Content-Type": "text/yaml"})
    assert status == 200, body
    headers = {"X-Admin-Token": ADMIN_TOKEN}  # the scenario set it: the admin API asks for it now
    async with api.http.get("/__admin/scenario", headers=headers) as answer:
        raw = await answer.text()
        assert answer.status == 200 and answer.content_type == "application/json"
        scenario = await answer.json()
    async with api.http.get("/__admin/ui/scenario", headers=headers) as answer:
        page = await answer.text()
        assert answer.status == 200
    for secret in SECRET_VALUES:
        assert secret not in raw and secret not in page, secret
        assert secret[:4] + "\\x" not in page  # not even as it was escaped
    assert "# the team's scenario" in scenario["yaml"] and "? &quot;(not shown 1)&quot;" in page
    assert scenario["yaml"] == masked_yaml(document)
    assert "<th>users</th><td>(set; not shown)</td>" in page
    assert "<th>admin_token</th><td>(set; not shown)</td>" in page


# --- any way a scenario may write its secrets -----------------------------------------------------------

PLAIN = st.text("abcdefghjkmnpqrstuvwxyz0123456789-_", min_size=1, max_size=12)
RICH = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1,
               max_size=12)  # fmt: skip
STYLES = st.sampled_from(["plain", "single", "double", "escaped"])


def written(value: str, style: str) -> str:
    """``value`` as a YAML scalar in ``style`` (plain only where a plain scalar can hold it)."""
    if style == "plain" and value.replace("-", "").replace("_", "").isalnum() and value.isascii():
        return value
    if style == "single":
        return "'" + value.replace("'", "''") + "'"
    if style == "escaped":  # every character escaped: the text holds none of it as it is
        return '"' + "".join(f"\\u{ord(c):04x}" if ord(c) < 0x10000 else c for c in value) + '"'
    return json.dumps(value, ensure_ascii=False)


class Case:
    """A scenario that sets every secret, written one way; what it should read as once masked."""

    def __init__(self, draw: Any) -> None:
        self.draw, self.written_secrets = draw, list[str]()
        secret = st.builds(lambda s: "s3cr" + s, PLAIN | RICH)
        token = st.builds(lambda s: "t0k" + s, PLAIN | RICH)
        self.users = draw(
            st.dictionaries(st.sampled_from(["admin", "bob", "ci"]), secret, min_size=1, max_size=3)
        )
        self.tokens = draw(st.dictionaries(token, st.sampled_from(["admin", "bob"]), min_size=1, max_size=2))
        self.admin_token = draw(st.builds(lambda s: "adm1n-" + s + "-long", PLAIN | RICH))
        self.anchored, self.named = draw(st.booleans()), draw(st.booleans())

    def scalar(self, value: str, *, secret: bool = False) -> str:
        text = written(value, self.draw(STYLES))
        if secret:
            self.written_secrets.append(text)
        return text

    def text(self) -> str:
        users = [f"{user}: {'&pw ' if self.anchored and n == 0 else ''}{self.scalar(pw, secret=True)}"
                 for n, (user, pw) in enumerate(self.users.items())]  # fmt: skip
        users += ["alias: *pw"] if self.anchored else []
        tokens = [(self.scalar(token, secret=True), user) for token, user in self.tokens.items()]
        name = "&n team-scenario" if self.named else "team-scenario"
        realm = "*n" if self.named else self.scalar("Team # realm: here")
        head = f"name: {name}\ndescription: {self.scalar(DESCRIPTION)}  # a comment\n"
        admin_token = self.scalar(self.admin_token, secret=True)
        if self.draw(st.booleans()):  # flow style, over a few lines
            pairs = ", ".join(f"{k}: {v}" for k, v in tokens)
            body = (f"settings: {{history_size: 3, realm: {realm},\n  users: {{{', '.join(users)}}},\n"
                    f"  tokens: {{{pairs}}}}}\nadmin: {{enabled: true, token: {admin_token}}}\n")  # fmt: skip
        else:
            explicit = self.draw(st.booleans())  # tokens as `? key` / `: value`
            pairs = "".join(f"    ? {k}\n    : {v}\n" if explicit else f"    {k}: {v}\n" for k, v in tokens)
            body = (f"settings:\n  history_size: 3\n  realm: {realm}\n  users:\n"
                    + "".join(f"    {item}   # a user\n" for item in users)
                    + f"  tokens:\n{pairs}admin:\n  enabled: true\n  token: {admin_token}\n")  # fmt: skip
        text = "# the team's scenario\n" + head + body
        if self.draw(st.booleans()):
            text = text.replace("\n", "\r\n")
        return ("\ufeff" if self.draw(st.booleans()) else "") + text

    def expected(self) -> dict[str, Any]:
        users = dict.fromkeys([*self.users, *(["alias"] if self.anchored else [])], YAML_MASK)
        tokens = {f"(not shown {n})": user for n, user in enumerate(self.tokens.values(), 1)}
        realm = "team-scenario" if self.named else "Team # realm: here"
        return {"name": "team-scenario", "description": DESCRIPTION,
                "settings": {"history_size": 3, "realm": realm, "users": users, "tokens": tokens},
                "admin": {"enabled": True, "token": YAML_MASK}}  # fmt: skip

    def secrets(self) -> list[str]:
        return [*self.users.values(), *self.tokens, self.admin_token, *self.written_secrets]


DESCRIPTION = "Not a secret: admin's #1 scenario"


@st.composite
def scenario_texts(draw: Any) -> tuple[str, dict[str, Any], list[str]]:
    """Block or flow style, each scalar quoted its own way, ``? key`` forms, a BOM or not, CRLF
    line ends or not, an anchor on a password and on a name: the text, what it should read as once
    masked, and the secrets as they are and as they are written."""
    case = Case(draw)
    text = case.text()
    return text, case.expected(), case.secrets()


@settings(max_examples=examples(300), deadline=None)
@given(scenario_texts())
def test_no_secret_is_shown_however_it_is_written(case: tuple[str, dict[str, Any], list[str]]) -> None:
    text, expected, secrets = case
    parse_scenario(text)  # a scenario the mock loads
    shown = masked_yaml(text)
    assert shown != UNREADABLE
    for secret in secrets:
        assert secret not in shown, (secret, shown)
    assert yaml.safe_load(shown) == expected  # still YAML: the same document but for the secrets
    assert len(shown.splitlines()) == len(text.splitlines())
