"""Execution: graphql-core's executor with fast paths (`executor`) and compiled rows (`rows`)."""

from schema.execution.executor import FastExecutor, leaf_plans

__all__ = ["FastExecutor", "leaf_plans"]
