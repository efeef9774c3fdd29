"""The trained student in MLflow: logged with the sentence-transformers flavour, registered with an alias.

``log_student`` logs the model of the active run with ``mlflow.sentence_transformers.log_model`` (a logged
model ``models:/m-...``, loadable with ``mlflow.sentence_transformers.load_model`` or as a pyfunc that embeds
a list of strings) and tags the run with its URI (``model_uri``), so a sweep can find and register the best
job's model afterwards (``register``: a version of the registered model, with an alias such as ``best``).

The pip requirements are given, not inferred: MLflow's inference re-imports the model in a subprocess,
which costs a model load for nothing.
"""
from __future__ import annotations

import logging
from importlib.metadata import version

log = logging.getLogger(__name__)

MODEL_URI_TAG = "model_uri"


def requirements() -> list[str]:
    return [f"{name}=={version(name)}" for name in ("sentence-transformers", "transformers", "torch")]


def log_student(student, name: str = "student") -> str:
    """Log ``student`` to the active MLflow run; returns its model URI and tags the run with it. A student with
    a trimmed vocabulary gets its full one back first (:func:`polyglot_distill.models.vocabulary.untrim_student`)."""
    import mlflow

    from polyglot_distill.models.vocabulary import untrim_student

    untrim_student(student)

    info = mlflow.sentence_transformers.log_model(student, name=name, pip_requirements=requirements())
    mlflow.set_tag(MODEL_URI_TAG, info.model_uri)
    return info.model_uri


def register(model_uri: str, registered_name: str, alias: str | None = None,
             tags: dict[str, str] | None = None) -> str:
    """Register ``model_uri`` as a new version of ``registered_name`` (with ``alias``); returns the version."""
    import mlflow
    from mlflow import MlflowClient

    mv = mlflow.register_model(model_uri, registered_name, tags=tags)
    if alias:
        MlflowClient().set_registered_model_alias(registered_name, alias, mv.version)
    log.info("registered %s as %s version %s%s", model_uri, registered_name, mv.version,
             f" (alias '{alias}')" if alias else "")
    return str(mv.version)
