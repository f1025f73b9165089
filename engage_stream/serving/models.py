"""The models a shell serves (the live worker and the replay alike), loaded and checked
before the first event: a wrong path, a broken folder or a label the policy names but no
head has stops the program here, naming the setting.
"""

from __future__ import annotations

from engage_stream.config.settings import Settings
from engage_stream.drafting.bank_file import BankError
from engage_stream.drafting.drafter import Drafter
from engage_stream.inference.heads import CLASSIFICATION_ROLES
from engage_stream.inference.model_folder import ModelFolderError, Precision
from engage_stream.inference.providers import DeviceError
from engage_stream.inference.scoring import Scorer
from engage_stream.policy.policy_file import Policy, label_problems


class StartupError(Exception):
    """The worker cannot start; `problems` are lines such as 'ENGAGE_X: what is wrong'."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def load_models(
    settings: Settings, policy: Policy, precision: Precision | None = None
) -> tuple[Scorer, Drafter]:
    """The heads the registry names and the drafter over the knowledge bank, checked
    against each other: the policy's and the bank's label names must be the heads' own."""
    if precision is None and settings.model_precision != "auto":
        precision = settings.model_precision
    try:
        scorer = Scorer.load(
            settings.model_bindings(),
            device=settings.device,
            batch_max_size=settings.batch_max_size,
            precision=precision,
            cache_size=settings.score_cache_size,
        )
    except (ModelFolderError, DeviceError) as exc:
        raise StartupError([f"ENGAGE_MODEL_INTENT / _TOXICITY / _TOPIC: {exc}"]) from None
    labels = {role: scorer.labels(role) for role in CLASSIFICATION_ROLES}
    problems = [f"ENGAGE_POLICY_FILE: {p}" for p in label_problems(policy, labels)]
    if problems:
        scorer.close()
        raise StartupError(problems)
    sender = policy.outbound.sender
    try:
        drafter = Drafter.load(
            settings.model_path(settings.knowledge_bank),
            settings.model_path(settings.model_embedding),
            sender={"shop_name": sender.name, "contact": sender.contact},
            zone=policy.zone,
            device=settings.device,
            budget_ms=policy.handoff.drafting.budget_ms,
        )
        drafter.bank.file.check_topics(labels["topic"], f"the topic head ({settings.model_topic})")
    except BankError as exc:
        scorer.close()
        raise StartupError([f"ENGAGE_KNOWLEDGE_BANK: {exc}"]) from None
    except (ModelFolderError, DeviceError) as exc:
        scorer.close()
        raise StartupError([f"ENGAGE_MODEL_EMBEDDING: {exc}"]) from None
    if drafter.encoder is not None:
        # One encoder pass per question: the drafter reads the vector the scoring pass made.
        drafter.read_vectors(scorer.share_vectors(drafter.encoder.stamp))
    return scorer, drafter
