"""A scenario's secrets never leave the mock: masked in its YAML (as written otherwise) on the
dashboard's scenario page and in ``GET /__admin/scenario``, and in the settings table."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from mock_server import Settings
from mock_server.scenarios.masking import MASK, SECRETS, UNREADABLE, masked_settings, masked_yaml
from mock_server.scenarios.reading import parse_scenario

from .conftest import MakeApi

PASSWORD, TOKEN, OTHER_TOKEN, ADMIN_TOKEN = "pw-3f9a1c", "tok-77b2e0", "tok-5d11aa", "adm-90c4d2e8"
SECRET_VALUES = (PASSWORD, TOKEN, OTHER_TOKEN, ADMIN_TOKEN)

#: The same secrets written every way YAML allows: flow and block maps, plain, single-quoted,
#: double-quoted (with an escape), a block scalar, an explicit ``? key``, a tag, an anchor whose
#: alias sets another user's password, and comments that must stay.
DOCUMENTS = {
    "flow, plain": f"""\
description: flow style  # a comment that stays
settings: {{users: {{admin: {PASSWORD}, bob: "{OTHER_TOKEN}"}}, tokens: {{{TOKEN}: developer}}}}
admin: {{token: {ADMIN_TOKEN}}}
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


def test_text_without_secrets_is_unchanged_and_unreadable_text_is_not_shown() -> None:
    plain = "# nothing secret\ndescription: d\nsettings: {history_size: 2}\n"
    assert masked_yaml(plain) == plain and masked_yaml("") == ""
    assert masked_yaml(f"settings: {{users: {{admin: {PASSWORD}}}\n  [") == UNREADABLE  # fails closed


def test_one_list_names_the_secret_settings() -> None:
    fields = {f.name: getattr(Settings(admin_token=ADMIN_TOKEN, tokens={TOKEN: "dev"}), f.name)
              for f in dataclasses.fields(Settings)}  # fmt: skip
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
