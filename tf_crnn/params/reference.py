"""The configuration reference, in Markdown, generated from the field declarations.

``docs/configuration.md`` is this text (``python docs/make_reference.py`` writes it, and a test checks
that it is current), so the documentation of a field and its validation come from the same place.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from tf_crnn.params.fields import GROUP, HELP, KIND, Section, settings
from tf_crnn.params.params import Params

INTRODUCTION = """\
# Configuration reference

Every field of `tf_crnn.config.Params` (`tf_crnn.params.params.Params`), with its default, what it
accepts and what it does. Set fields in a JSON config file and/or as `field=value` updates after it;
the updates win, a dotted name changes one entry of a section (`synthetic_data.n_train=50`), and
values are JSON or Python literals (`restore_model=true`, `'input_shape=[48, 1024]'`):

```sh
tf-crnn train config.json n_epochs=3 train_batch_size=16
tf-crnn train print_config config.json n_epochs=3      # show the resolved configuration, train nothing
```

A wrong value stops before anything runs, with the field, the value and what is allowed
(`n_epochs must be a positive integer, got '3'`); an unknown field names the closest known one
(`unknown configuration field(s): 'n_epoch' (did you mean 'n_epochs'?)`). The resolved configuration
is saved as `<output_model_dir>/params.json`.

This page is generated from the declarations in `tf_crnn/params/` (`python docs/make_reference.py`);
edit those, not this file.
"""


def _default(item: dataclasses.Field) -> str:
    if isinstance(item.metadata[KIND], Section):
        return "(section)"
    value = item.default_factory() if item.default is dataclasses.MISSING else item.default
    return f"`{json.dumps(_plain(value), ensure_ascii=False)}`"


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _rows(fields: list[dataclasses.Field], prefix: str = "") -> list[str]:
    rows = ["| field | default | accepts | what it does |", "| --- | --- | --- | --- |"]
    for item in fields:
        cells = (_default(item), item.metadata[KIND].describe(), item.metadata[HELP])
        rows.append(f"| `{prefix}{item.name}` | " + " | ".join(_cell(cell) for cell in cells) + " |")
    return rows


def markdown() -> str:
    """The whole reference page."""
    lines = [INTRODUCTION]
    groups: dict[str, list[dataclasses.Field]] = {}
    for item in settings(Params):
        groups.setdefault(item.metadata[GROUP], []).append(item)
    for group, fields in groups.items():
        lines += [f"## {group.capitalize() if group.islower() else group}", "", *_rows(fields), ""]
    for item in settings(Params):
        kind = item.metadata[KIND]
        if not isinstance(kind, Section):
            continue
        doc = (kind.cls.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        lines += [f"## Section `{item.name}`", "", doc, "", *_rows(settings(kind.cls), f"{item.name}."), ""]
    return "\n".join(lines).rstrip() + "\n"
