"""The runner of each workflow action, found from the action's model.

Each runner class in ``mercator.outbound`` registers itself under the action model it runs with
``@ACTION_RUNNERS.register(<model>)``, so an action is its model in the ``Action`` union plus one
runner class. ``runners`` turns the runners a deployment builds into the ``{action type: runner}``
table DispatchService looks actions up in, and refuses a table that leaves an action without a
runner or gives one two: a deployment missing a runner fails when it starts, instead of pausing
every workflow that uses the action.
"""

from __future__ import annotations

from pydantic import BaseModel

from mercator.domain.registry import Registry, UnknownEntryError
from mercator.domain.workflows import ACTION_MODELS, ACTION_TYPES, ActionRunner

__all__ = ["ACTION_RUNNERS", "runners"]

ACTION_RUNNERS: Registry[type[BaseModel], type[ActionRunner]] = Registry("action runner")

_ACTION_TYPE = dict(zip(ACTION_MODELS, ACTION_TYPES, strict=True))


def runners(*instances: ActionRunner) -> dict[str, ActionRunner]:
    """Each runner under the ``type`` of the action its class is registered for.

    Raises UnknownEntryError for a runner whose class is registered for no action, and ValueError
    when two runners run the same action or an action of the ``Action`` union has none.
    """
    table: dict[str, ActionRunner] = {}
    for runner in instances:
        action = _action_type(_model_run_by(runner))
        if action in table:
            raise ValueError(
                f"{action!r} actions are given two runners: "
                f"{type(table[action]).__name__} and {type(runner).__name__}"
            )
        table[action] = runner
    missing = [action for action in ACTION_TYPES if action not in table]
    if missing:
        raise ValueError(f"no runner is given for {', '.join(map(repr, missing))} actions")
    return table


def _model_run_by(runner: ActionRunner) -> type[BaseModel]:
    # isinstance rather than an exact class, so a subclass of a registered runner runs its action too.
    for model, runner_class in ACTION_RUNNERS.items():
        if isinstance(runner, runner_class):
            return model
    known = ", ".join(runner_class.__name__ for runner_class in ACTION_RUNNERS.values())
    raise UnknownEntryError(
        f"{type(runner).__name__} is not registered as an action runner (registered: {known})"
    )


def _action_type(model: type[BaseModel]) -> str:
    try:
        return _ACTION_TYPE[model]
    except KeyError:
        raise ValueError(f"{model.__name__} has a runner but is no member of the Action union") from None
