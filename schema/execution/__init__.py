"""Execution: graphql-core's executor with fast paths (`executor`), selection plans
(`selections`), compiled rows (`rows`), batched fields (`batch`, `prefetch`) and the plans
executions of one operation share (`operations`)."""

from schema.execution.executor import FastExecutor
from schema.execution.selections import leaf_plans

__all__ = ["FastExecutor", "leaf_plans"]
