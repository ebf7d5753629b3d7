"""Planning a run: recipe + dataset + old LoRA + hardware + the user's changes -> a resolved, explained config.

``service`` builds the plan; ``inputs`` reads the dataset and old-LoRA facts it needs; ``rules`` adapts buckets
and warns about the data; ``glossary`` names the settings, ``overrides`` applies the user's changes to them,
``explain`` says what each one does; ``estimate`` gives time and disk; ``hardware`` says what the machine has.
"""

from tools.plan.service import Plan, plan

__all__ = ["Plan", "plan"]
