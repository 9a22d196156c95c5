"""Black-box, over a socket: the AEM UI's session, a ``login-token`` cookie the scenario names, with
CSRF enforced for it as for a browser (docs/contract.md §3.41)."""

from __future__ import annotations

import pytest
import yaml

from mock_server import ScenarioError, Settings
from mock_server.api.operations import BASE_PATH
from mock_server.core.errors import SettingError
from mock_server.scenarios.masking import MASK, masked_settings, masked_yaml
from mock_server.scenarios.reading import parse_scenario
from tests.http.test_http_errors import assert_error, raw
from tests.support.client import ApiClient, MakeApi
from tests.support.constants import BASIC_ADMIN

#: A cookie value as a browser sends it: the token and the workspace, their ':' %-encoded.
COOKIE = "5c1f0a9e-3b7d-4e62-9a1c-7f2e8d4b6a10%3a9f8e7d6c5b4a%3acrx.default"
TOKEN_PATH = "/libs/granite/csrf/token.json"
START = {"path": "/content/dam/22858", "type": "ASSET_PROCESSING"}


async def session(make_api: MakeApi, **settings: object) -> ApiClient:
    """A mock naming ``COOKIE`` as ``author``'s session, called with that cookie and no credentials."""
    api = await make_api(Settings(login_tokens={COOKIE: "author"}, **settings))  # type: ignore[arg-type]
    api.headers = {"Cookie": f"cq-authoring-mode=TOUCH; login-token={COOKIE}"}
    return api


async def csrf_token(api: ApiClient) -> str:
    status, body = await api.get(TOKEN_PATH)
    assert status == 200, body
    return str(body["token"])


async def test_the_cookie_authenticates_a_get_as_its_user(make_api: MakeApi) -> None:
    api = await session(make_api)
    status, body = await api.get(f"{BASE_PATH}/history")
    assert status == 200 and body["executionHistory"] == []
    assert list(api.mock.journal)[-1].user == "author"


async def test_a_post_in_the_session_needs_the_csrf_token_whatever_the_user_agent(make_api: MakeApi) -> None:
    api = await session(make_api)  # csrf is off, and aiohttp's User-Agent is not a browser's
    assert not api.mock.settings.csrf
    for sent in ({}, {"CSRF-Token": "made-up"}):
        status, body = await api.post(BASE_PATH, START, headers=sent)
        assert_error(status, body, 403)
        assert "'CSRF-Token'" in body["message"] and TOKEN_PATH in body["message"]
        (violation,) = body["violations"]
        assert violation["where"] == "header:CSRF-Token" and TOKEN_PATH in violation["expected"]
        assert violation["got"] == (None if not sent else "a token the token endpoint did not hand out")
    assert await api.history() == []  # nothing started


async def test_a_post_with_the_token_from_token_json_is_served(make_api: MakeApi) -> None:
    api = await session(make_api)
    token = await csrf_token(api)  # fetched with the cookie, as the UI does
    status, body = await api.post(BASE_PATH, START, headers={"CSRF-Token": token})
    assert status == 200, body
    assert (await api.status(body["processingId"]))["createdBy"] == "author"


@pytest.mark.parametrize(
    ("named", "sent"),
    [
        (COOKIE, COOKIE.replace("%3a", "%3A")),
        (COOKIE.replace("%3a", ":"), COOKIE),
        (COOKIE, COOKIE.replace("%3a", ":")),
    ],
    ids=["sent %3A", "named decoded", "sent decoded"],
)
async def test_the_value_matches_encoded_or_not(make_api: MakeApi, named: str, sent: str) -> None:
    api = await make_api(Settings(login_tokens={named: "author"}))
    api.headers = {"Cookie": f"login-token={sent}"}
    assert (await api.get(f"{BASE_PATH}/history"))[0] == 200


@pytest.mark.parametrize(
    "header",
    [
        f'login-token="{COOKIE}"',
        f"login-token=stale; login-token={COOKIE}",
        f"login-token={COOKIE}; login-token=x",
    ],
    ids=["quoted", "known second", "known first"],
)
async def test_any_login_token_cookie_the_scenario_names_is_the_session(
    make_api: MakeApi, header: str
) -> None:
    """A browser holding two (set for two paths) sends both; an author knowing either serves it."""
    api = await session(make_api)
    api.headers = {"Cookie": header}
    assert (await api.get(f"{BASE_PATH}/history"))[0] == 200
    assert list(api.mock.journal)[-1].user == "author"


async def test_of_two_known_sessions_the_first_sent_is_the_one(make_api: MakeApi) -> None:
    api = await make_api(Settings(login_tokens={COOKIE: "author", "other%3acrx.default": "reviewer"}))
    for header, user in [(f"login-token={COOKIE}; login-token=other%3acrx.default", "author"),
                         (f"login-token=other%3acrx.default; login-token={COOKIE}", "reviewer")]:  # fmt: skip
        api.headers = {"Cookie": header}
        assert (await api.get(f"{BASE_PATH}/history"))[0] == 200
        assert list(api.mock.journal)[-1].user == user


@pytest.mark.parametrize("named", [True, False], ids=["another session named", "none named"])
async def test_a_cookie_the_scenario_does_not_name_is_a_401(make_api: MakeApi, named: bool) -> None:
    api = await session(make_api) if named else await make_api()
    api.headers = {"Cookie": f"login-token={COOKIE.replace('5c1f', '5c1e')}"}
    status, body, headers = await raw(api, "GET", f"{BASE_PATH}/history")
    assert_error(status, body, 401)
    assert "login-token cookie names no session" in body["message"] and "login_tokens" in body["message"]
    assert headers["WWW-Authenticate"] == 'Basic realm="Sling (Development)"'
    api.headers = {"Cookie": "login-token="}  # empty: no session either
    assert (await raw(api, "GET", f"{BASE_PATH}/history"))[0] == 401


async def test_basic_needs_no_csrf_token_even_beside_the_cookie(make_api: MakeApi) -> None:
    api = await session(make_api)
    cookie = api.headers
    api.headers = {"Authorization": BASIC_ADMIN}
    assert await api.start("/content/dam/22858")  # as today
    api.headers = {**cookie, "Authorization": BASIC_ADMIN}  # the header proves the user first
    assert await api.start("/content/dam/demo")
    assert [job["createdBy"] for job in await api.history()] == ["admin", "admin"]


async def test_wrong_basic_credentials_fall_back_to_the_cookie(make_api: MakeApi) -> None:
    api = await session(make_api)
    api.headers = {**api.headers, "Authorization": "Basic d3Jvbmc6d3Jvbmc="}  # wrong:wrong
    status, _ = await api.get(f"{BASE_PATH}/history")
    assert status == 200 and list(api.mock.journal)[-1].user == "author"
    status, body = await api.post(BASE_PATH, START)
    assert status == 403, body  # a session still: the token is needed


def test_the_setting_is_frozen_and_refuses_what_no_browser_sends() -> None:
    settings = Settings(login_tokens={COOKIE: "author"})
    with pytest.raises(TypeError):
        settings.login_tokens["other"] = "x"  # type: ignore[index]
    for value in ("", "a b", "a;b", 'a"b'):
        with pytest.raises(SettingError, match="login_tokens") as caught:
            Settings(login_tokens={value: "author"})
        assert "%-encoded" in str(caught.value)
    with pytest.raises(ScenarioError, match=r"settings\.login_tokens: expected a login-token cookie value"):
        parse_scenario("description: d\nsettings: {login_tokens: {'a;b': me}}\n")


def test_the_cookie_values_are_masked_where_the_scenario_is_shown() -> None:
    text = (
        "description: the UI's session\n"
        f"settings:\n  login_tokens:\n    {COOKIE}: author  # copied from the browser\n"
        f"    ? '{COOKIE[:-1]}x'\n    : reviewer\n"
    )
    parse_scenario(text)
    shown = masked_yaml(text)
    assert COOKIE[:20] not in shown and "# copied from the browser" in shown
    shown_map = yaml.safe_load(shown)["settings"]["login_tokens"]
    assert shown_map == {"(not shown 1)": "author", "(not shown 2)": "reviewer"}
    assert masked_settings({"login_tokens": {COOKIE: "author"}}) == {"login_tokens": MASK}


async def test_the_admin_api_never_shows_the_cookie(make_api: MakeApi) -> None:
    api = await make_api()
    document = f"description: d\nsettings: {{login_tokens: {{{COOKIE}: author}}}}\n"
    status, body = await api.admin("PUT", "/scenario", data=document, headers={"Content-Type": "text/yaml"})
    assert status == 200, body
    for path in ("/__admin/scenario", "/__admin/ui/scenario"):
        async with api.http.get(path) as answer:
            assert answer.status == 200 and COOKIE[:20] not in await answer.text()
    api.headers = {"Cookie": f"login-token={COOKIE}"}
    assert (await api.get(f"{BASE_PATH}/history"))[0] == 200  # the scenario's session is in force


async def test_the_openapi_document_declares_the_cookie_only_where_a_session_is_named(
    make_api: MakeApi,
) -> None:
    api = await session(make_api)
    status, document = await api.get("/openapi.json")
    assert status == 200
    scheme = document["components"]["securitySchemes"]["loginToken"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "cookie", "login-token")
    assert {"loginToken": []} in document["security"]
    plain = await make_api()
    _, document = await plain.get("/openapi.json")
    assert set(document["components"]["securitySchemes"]) == {"basic", "bearer"}


@pytest.mark.parametrize(
    "header",
    [
        'login-token="unterminated',
        "login-token=" + "a" * 7000,
        "login-token=%zz%",
        ";;;=;login-token",
        "=; =x",
    ],
)
async def test_a_malformed_cookie_header_is_a_401_not_a_500(make_api: MakeApi, header: str) -> None:
    api = await session(make_api)
    api.headers = {"Cookie": header}
    status, body, _ = await raw(api, "GET", f"{BASE_PATH}/history")
    assert_error(status, body, 401)
