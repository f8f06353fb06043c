"""Bulk operations: source expansion, transfers and the scheduler."""

from ._scheduler import Conflict, OperationHandle, OperationScheduler, current_handle

__all__ = ["Conflict", "OperationHandle", "OperationScheduler", "current_handle"]
