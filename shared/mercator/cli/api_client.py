"""A synchronous client of Mercator's Integrations API, for the ``mercator`` command line.

Every request carries the tenant's API key (``Authorization: Bearer mk_<key id>.<secret>``), which
names the tenant; the key appears in no message and no ``repr``. Answers are read from the API's
envelope: the ``data`` of a success, or ApiError with the envelope's code and message. API Gateway's
own refusals carry a message only (an unknown route, a throttled request, a key refused where no
gateway response is configured); they get the code their status stands for.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from http import HTTPStatus
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import httpx

from mercator.state.api_keys import key_id_of

# Configuring checks the credentials with the store before answering, within API Gateway's 29 s.
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
_GATEWAY_CODES = {HTTPStatus.UNAUTHORIZED.value: "UNAUTHORIZED", HTTPStatus.FORBIDDEN.value: "FORBIDDEN"}
UNEXPECTED_ANSWER = "UNEXPECTED_ANSWER"


class ApiClientError(Exception):
    """The request could not be made or was refused; the message is safe to show (no key in it)."""


class ApiSetupError(ApiClientError):
    """The API's URL or the API key cannot be used as given."""


class ApiUnreachableError(ApiClientError):
    """No answer came: the connection failed or the API did not answer in time."""


class ApiError(ApiClientError):
    """The API answered with an error: ``code`` and ``message`` as its envelope gives them."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class IntegrationsApiClient:
    """The Integrations API at ``base_url`` (the stage's URL), as the tenant whose key is ``api_key``.

    ``transport`` replaces the network, e.g. with an API served in process.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        url = _base_url(base_url)
        self.base_url = str(url).rstrip("/")
        if key_id_of(api_key.strip()) is None:
            # Not echoed: a mistyped key is still mostly a secret.
            raise ApiSetupError("the API key is not a Mercator API key (mk_<key id>.<secret>)")
        self._http = httpx.Client(
            base_url=url,
            headers={
                "Authorization": f"Bearer {api_key.strip()}",
                "Accept": "application/json",
                "User-Agent": "mercator-cli",
            },
            transport=transport,
            timeout=timeout,
        )

    def __repr__(self) -> str:
        return f"IntegrationsApiClient({self.base_url!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # Integrations

    def integrations(self) -> list[dict[str, Any]]:
        """The tenant's integrations, oldest first."""
        return _objects(self._request("GET", "/api/integrations"))

    def configure_integration(
        self, provider: str, credentials: Mapping[str, str], settings: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Configure ``provider``; the API checks the credentials with the store and assigns the guid."""
        body = {
            "providerId": provider,
            "providerType": "ecommerce",
            "credentials": dict(credentials),
            "settings": dict(settings),
        }
        return _object(self._request("POST", "/api/integrations/provider/configure", json=body))

    def disable_integration(self, integration_id: str) -> dict[str, Any]:
        return _object(
            self._request("POST", f"/api/integrations/provider/disable/{_segment(integration_id)}")
        )

    def remove_integration(self, integration_id: str, *, purge: bool = False) -> None:
        """Remove the integration and what Mercator keeps about it; with ``purge`` its records too."""
        self._request(
            "DELETE",
            f"/api/integrations/providers/ecommerce/remove/{_segment(integration_id)}",
            params={"purge": "true"} if purge else None,
        )

    # Workflows

    def triggers(self, entity_type: str) -> list[dict[str, Any]]:
        return _objects(self._request("GET", f"/api/workflows/triggers/{_segment(entity_type)}"))

    def workflows(self, entity_type: str, *, managed: bool = False) -> list[dict[str, Any]]:
        return _objects(
            self._request(
                "GET",
                f"/api/workflows/{_segment(entity_type)}/configured",
                params={"managed": "true" if managed else "false"},
            )
        )

    def configure_workflow(self, workflow: Mapping[str, Any]) -> dict[str, Any]:
        """Create a workflow, or update the one ``workflow["guid"]`` names."""
        return _object(self._request("POST", "/api/workflows/configure", json=dict(workflow)))

    def toggle_workflow(self, guid: str) -> dict[str, Any]:
        return _object(self._request("GET", f"/api/workflows/configured/{_segment(guid)}/toggle"))

    def delete_workflow(self, guid: str) -> None:
        self._request("DELETE", f"/api/workflows/configured/{_segment(guid)}")

    def resume_execution(self, execution_id: str) -> dict[str, Any]:
        """Run a paused workflow execution again."""
        if not execution_id:
            raise ApiSetupError("an execution id must not be empty")
        return _object(
            self._request("GET", "/api/workflows/resume-workflow", params={"workflowId": execution_id})
        )

    # Shipments (pushTracking)

    def ship(self, shipment: Mapping[str, Any]) -> dict[str, Any]:
        """Send a shipment of a synced order into its integration's store (queued, or already there)."""
        return _object(self._request("POST", "/api/shipments", json=dict(shipment)))

    def shipment(self, integration_id: str, shipment_id: str) -> dict[str, Any]:
        """Where the write of a shipment into the integration's store stands."""
        return _object(
            self._request(
                "GET", f"/api/shipments/{_segment(shipment_id)}", params={"integrationId": integration_id}
            )
        )

    # The envelope

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> Any:
        try:
            response = self._http.request(method, path.lstrip("/"), json=json, params=params)
        except httpx.TimeoutException:
            raise ApiUnreachableError(
                f"the Integrations API at {self.base_url} did not answer in time"
            ) from None
        except httpx.TransportError as exc:
            raise ApiUnreachableError(
                f"cannot reach the Integrations API at {self.base_url}: {exc}"
            ) from None
        return _data(response)


def _base_url(text: str) -> httpx.URL:
    try:
        url = httpx.URL(text.strip())
    except httpx.InvalidURL as exc:
        raise ApiSetupError(f"the API URL {text!r} is not a URL: {exc}") from None
    if url.userinfo:
        # Checked first, so no message below repeats a password.
        raise ApiSetupError("the API URL must not carry a user or password; the API key names the tenant")
    if url.scheme not in ("http", "https") or not url.host:
        raise ApiSetupError(f"the API URL {text!r} must be an http(s) URL, e.g. https://api.example.com/dev")
    if url.query or url.fragment:
        raise ApiSetupError(f"the API URL {text!r} must not have a query or fragment")
    # A trailing slash makes httpx join the routes onto the stage's path rather than replace its end.
    return url if url.path.endswith("/") else url.copy_with(path=url.path + "/")


def _segment(value: str) -> str:
    """One path segment: a slash or a question mark in an id must not reach another route."""
    if not value:
        raise ApiSetupError("an id in the path must not be empty")
    return quote(value, safe="")


def _data(response: httpx.Response) -> Any:
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if response.is_success:
        if isinstance(body, dict) and body.get("success") is True:
            return body.get("data")
        raise ApiError(
            response.status_code,
            UNEXPECTED_ANSWER,
            "the answer is not the Integrations API's; is the API URL the stage's URL?",
        )
    error = body.get("error") if isinstance(body, dict) else None
    if (
        isinstance(error, dict)
        and isinstance(error.get("code"), str)
        and isinstance(error.get("message"), str)
    ):
        raise ApiError(response.status_code, error["code"], error["message"])
    said = body.get("message") if isinstance(body, dict) else None
    message = said if isinstance(said, str) and said else response.reason_phrase or "no message"
    code = _GATEWAY_CODES.get(response.status_code, f"HTTP_{response.status_code}")
    raise ApiError(response.status_code, code, message)


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ApiError(HTTPStatus.OK.value, UNEXPECTED_ANSWER, "the answer's data is not an object")
    return data


def _objects(data: Any) -> list[dict[str, Any]]:
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ApiError(HTTPStatus.OK.value, UNEXPECTED_ANSWER, "the answer's data is not a list of objects")
    return data


def setting_value(text: str) -> str | bool | int | float:
    """A ``--setting`` value as the API takes it: true/false and numbers as such, anything else as text."""
    if text in ("true", "false"):
        return text == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else text
