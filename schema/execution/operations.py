"""Operation plans: what the executions of one cached operation share.

A cached document is executed again and again (issue 15). When collecting its fields cannot
depend on variables (no variable in a directive, no `@defer`/`@stream`, no fragment
arguments), its executions share the root fields its first execution collected, the
collected sub-fields and the compiled selections: they are collected and compiled once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphql import (
    BREAK,
    DirectiveNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    ValueNode,
    VariableNode,
    Visitor,
    visit,
)
from graphql.execution.collect_fields import GroupedFieldSet
from graphql.pyutils import AwaitableOrValue

from schema.execution.fields import ArgumentsOnce, immutable_key
from schema.execution.rows import UNKNOWN


class OperationPlan:
    """What the executions of one operation share (see the module docstring)."""

    __slots__ = (
        "arguments", "fast_root", "operation", "root", "selections", "static", "sub_fields",
    )

    def __init__(self, operation: OperationDefinitionNode, static: bool) -> None:
        self.operation = operation  # kept alive: plans are found by its id
        self.static = static
        self.root: GroupedFieldSet | None = None
        self.sub_fields: dict[Any, Any] = {}
        self.selections: dict[int, Any] = {}  # schema.execution.selections.Selection
        self.fast_root: Any = UNKNOWN  # schema.execution.roots.FastRoot, or None
        # Coerced field arguments per variable values (schema.execution.fields.ArgumentsOnce).
        self.arguments: dict[tuple[Any, ...], dict[int, Any]] = {}


# Plans per operation, kept on each schema (they hold its types) and bounded.
PLANS_ATTRIBUTE = "_gateway_operation_plans"
MAX_OPERATION_PLANS = 256
# Sets of variable values whose coerced arguments a plan keeps at most.
MAX_ARGUMENT_SETS = 64


def operation_plan(
    schema: Any,
    operation: OperationDefinitionNode,
    fragment_definitions: dict[str, FragmentDefinitionNode],
) -> OperationPlan | None:
    plans: dict[int, OperationPlan] | None = getattr(schema, PLANS_ATTRIBUTE, None)
    if plans is None:
        plans = {}
        setattr(schema, PLANS_ATTRIBUTE, plans)
    plan = plans.get(id(operation))
    if plan is None or plan.operation is not operation:
        if len(plans) >= MAX_OPERATION_PLANS:
            plans.clear()
        static = _collection_is_static(operation, fragment_definitions)
        plan = plans[id(operation)] = OperationPlan(operation, static)
    return plan if plan.static else None


def _collection_is_static(
    operation: OperationDefinitionNode, fragment_definitions: dict[str, FragmentDefinitionNode]
) -> bool:
    """Whether collecting the operation's fields gives the same result for any variables."""

    class Finder(Visitor):
        dynamic = False

        def enter_directive(self, node: DirectiveNode, *_: Any) -> Any:
            if node.name.value in ("defer", "stream") or any(
                _has_variable(argument.value) for argument in node.arguments or ()
            ):
                self.dynamic = True
                return BREAK
            return None

        def enter_fragment_spread(self, node: FragmentSpreadNode, *_: Any) -> Any:
            if getattr(node, "arguments", None):
                self.dynamic = True
                return BREAK
            return None

    if any(getattr(f, "variable_definitions", None) for f in fragment_definitions.values()):
        return False  # fragment arguments (experimental)
    for node in (operation, *fragment_definitions.values()):
        finder = Finder()
        visit(node, finder)
        if finder.dynamic:
            return False
    return True


def _has_variable(value: ValueNode) -> bool:
    if isinstance(value, VariableNode):
        return True
    if isinstance(value, ListValueNode):
        return any(_has_variable(item) for item in value.values)
    if isinstance(value, ObjectValueNode):
        return any(_has_variable(field.value) for field in value.fields)
    return False


class PlannedOperations(ArgumentsOnce):
    """An executor mixin: an operation's plan shared by its executions (`_plan`, None when
    its collection depends on variables); the executor keeps its selections in it, and the
    coerced arguments of its fields per variable values."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plan = operation_plan(self.schema, self.operation, self.fragment_definitions)
        if self._plan is not None:
            self._relevant_sub_fields = self._plan.sub_fields
            key = immutable_key(self.variable_values.coerced)
            if key is not None:
                # Immutable arguments coerced once for all executions with these values.
                shared = self._plan.arguments
                if key not in shared and len(shared) >= MAX_ARGUMENT_SETS:
                    shared.clear()
                self._arguments = shared.setdefault(key, {})

    def execute_collected_root_fields(
        self,
        root_type: GraphQLObjectType,
        root_value: Any,
        grouped_field_set: GroupedFieldSet,
        serially: bool,
        new_defer_usages: Sequence[Any],
    ) -> AwaitableOrValue[dict[str, Any]]:
        plan = self._plan
        if plan is not None and not new_defer_usages:
            # The operation's first collection stands for this one (the same fields, for
            # any variables), so its sub-fields and selections are found in the plan.
            if plan.root is None:
                plan.root = grouped_field_set
            else:
                grouped_field_set = plan.root
        return super().execute_collected_root_fields(
            root_type, root_value, grouped_field_set, serially, new_defer_usages
        )

