"""Library migration: every LTX-2 LoRA of a folder retrained on the new model from its clips, in one approval."""

from tools.migrate.models import BatchReport, BatchRow, MigrationItem, MigrationPlan
from tools.migrate.service import advance, batch_report, launch_migration, load_batch, plan_migration

__all__ = ["BatchReport", "BatchRow", "MigrationItem", "MigrationPlan", "advance", "batch_report",
           "launch_migration", "load_batch", "plan_migration"]
