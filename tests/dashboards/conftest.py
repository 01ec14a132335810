"""Fixtures for the dashboards: call a Dash callback the way the browser's renderer does."""

from __future__ import annotations

from typing import Any

import pytest

DISPATCH = "/dashboards/_dash-update-component"


def split_outputs(output: str) -> list[dict[str, str]]:
    """The ``outputs`` list for a callback id ("..a.x...b.y.." for several, "a.x" for one)."""
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    return [dict(zip(("id", "property"), part.rsplit(".", 1), strict=True)) for part in parts]


def callback_body(
    spec: dict[str, Any], values: dict[str, Any], changed: list[str] | None = None
) -> dict:
    """The JSON the renderer posts for ``spec`` (from ``_dash-dependencies``) with input ``values``.

    ``values`` maps ``"component-id.property"`` to the value sent; missing inputs are sent as None.
    """
    outputs = split_outputs(spec["output"])
    inputs = [
        {
            "id": i["id"],
            "property": i["property"],
            "value": values.get(f"{i['id']}.{i['property']}"),
        }
        for i in spec["inputs"]
    ]
    state = [
        {
            "id": s["id"],
            "property": s["property"],
            "value": values.get(f"{s['id']}.{s['property']}"),
        }
        for s in spec["state"]
    ]
    return {
        "output": spec["output"],
        # The renderer sends a single output as one object and several as a list.
        "outputs": outputs if spec["output"].startswith("..") else outputs[0],
        "inputs": inputs,
        "state": state,
        "changedPropIds": changed
        if changed is not None
        else [f"{i['id']}.{i['property']}" for i in spec["inputs"]],
    }


@pytest.fixture
def run_callback(client):
    """Post to the callback that produces ``output`` (e.g. ``"org-figure.figure"``)."""

    def _run(output: str, values: dict[str, Any]):
        specs = client.get("/dashboards/_dash-dependencies").get_json()
        spec = next(
            s
            for s in specs
            if output in {f"{o['id']}.{o['property']}" for o in split_outputs(s["output"])}
        )
        return client.post(DISPATCH, json=callback_body(spec, values))

    return _run


def texts(component: Any) -> list[str]:
    """Every string and number shown by a serialized Dash component tree, depth first."""
    if isinstance(component, dict):
        if "props" in component:
            return texts(component["props"].get("children"))
        return []
    if isinstance(component, list):
        return [t for child in component for t in texts(child)]
    if component is None or isinstance(component, bool):
        return []
    return [str(component)]


def table_rows(table: dict) -> dict[str, tuple[int, int, str]]:
    """Body rows of the serialized numbers table: unit path → (employees, licensed, share)."""
    rows = {}
    for section in table["props"]["children"]:
        if section.get("type") != "Tbody":
            continue
        for row in section["props"]["children"]:
            unit, employees, licensed, share = texts(row)
            rows[unit] = (int(employees), int(licensed), share)
    return rows
