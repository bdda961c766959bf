"""The grow-and-prune of a search's trials as ``nnsynth search`` sets it: ``--grow-prune``
(every trial grown and pruned with ``nnsynth grow-prune``'s recipe, ``synth.choices.RECIPE``)
and ``--schedule`` (GrowPruneSchedule fields over the recipe: a JSON object, as ``nnsynth
grow-prune --schedule`` takes, or a YAML/JSON file of them).  The value is
``SearchConfig.grow_prune``, which the library and the pipeline's ``search.options.grow_prune``
set already; the command had no way to (h305).

The trials grow and prune with the search's seed and device (``search.trial.
grow_prune_schedule``): a schedule naming either is refused, as one the search would not run
as written."""
from __future__ import annotations

from typing import Any

from synth.errors import ConfigError, UserError

# GrowPruneSchedule fields the search sets for every trial (--seed, --device)
SEARCH_FIELDS = {"seed": "--seed", "device": "--device"}


def trial_grow_prune(grow_prune: bool, schedule: str | None) -> dict | None:
    """``SearchConfig.grow_prune`` of ``nnsynth search --grow-prune [--schedule S]``: None
    without --grow-prune, else the fields ``schedule`` sets ({}: the recipe as it is).
    --schedule without --grow-prune is a one-line error (it would be ignored)."""
    if not grow_prune:
        if schedule is not None:
            raise UserError("--schedule sets the grow-and-prune of the trials, which "
                            "--grow-prune turns on: give --grow-prune too (or drop --schedule)")
        return None
    return {} if schedule is None else read_schedule(schedule)


def read_schedule(text: str, option: str = "--schedule") -> dict:
    """The GrowPruneSchedule fields of ``text``: a JSON object when it begins with '{', else
    the path of a YAML or JSON file of them (read through ``synth.files``' bounded loader;
    a file of no document is {}: the recipe).  Checked as the trials will run them (the
    recipe under these fields, ``GrowPruneSchedule.recipe``): an unknown field, a bad value
    or a field the search sets (seed, device) is a one-line ConfigError naming the file (or
    the option) and the field: 'sched.yaml: prune_steps must be in [0, 1000], got -1'."""
    from synth.files import load_yaml_text, read_yaml_file
    expected = "a mapping of GrowPruneSchedule fields"
    if text.lstrip().startswith("{"):
        where = option
        values = load_yaml_text(text, option, "JSON", expected=expected)
    else:
        where = text
        values = read_yaml_file(text, "grow-and-prune schedule", expected=expected)
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise ConfigError(f"{where} must hold {expected} (as nnsynth grow-prune --schedule "
                          f"takes), got {type(values).__name__}")
    _check_fields(values, where)
    return values


def _check_fields(values: dict[Any, Any], where: str) -> None:
    """``values`` as GrowPruneSchedule fields over the recipe, or a ConfigError naming
    ``where`` and the field."""
    from synth.choices import RECIPE
    from synth.grow_prune import GrowPruneSchedule
    for field, option in SEARCH_FIELDS.items():
        if field in values:
            raise ConfigError(f"{where}: {field} is the search's own (its {option}, which "
                              f"every trial's grow-and-prune takes); drop {field} from it")
    try:
        GrowPruneSchedule.from_dict({**RECIPE, **values})
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}") from None
