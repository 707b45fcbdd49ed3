"""One exception tree for ninefold.

Every error ninefold raises on purpose derives from :class:`NinefoldError`, so
callers (and the CLI's single error boundary) can catch one class. Messages
name the thing, the bad value and the fix.

::

    NinefoldError
    ├── ConfigError                 settings or environment are wrong
    ├── InvalidArgument             a bad value passed to the API
    │   ├── InvalidName             a name that breaks the naming rules
    │   ├── FilterSyntaxError       a search filter that does not parse
    │   ├── ParamConflict           a param re-logged with another value
    │   ├── PipelineDefinitionError a pipeline or step defined or called wrongly
    │   └── UnserializableOutput    a step output no materializer can store
    ├── NotFound                    something asked for does not exist
    │   ├── RunNotFound
    │   ├── ExperimentNotFound
    │   ├── ModelNotFound
    │   ├── ArtifactNotFound
    │   └── DatasetNotFound
    ├── AlreadyExists               a create that collides with an existing entity
    ├── StateError                  the operation does not fit the current state
    │   ├── NoActiveRun
    │   ├── StepFailed              a pipeline step raised or its worker died
    │   │   ├── StepTimeout         a step ran past its timeout
    │   │   └── SweepFailed         combinations of a sweep failed (the others finished)
    │   └── ReproduceError          a run cannot be re-run from its recorded commit
    ├── IntegrityError              stored bytes no longer match their hash
    ├── UnsafeModelError            loading would run untrusted code
    ├── MissingDependency           an optional extra is not installed
    ├── DataError                   data that cannot be read, profiled or compared
    │   ├── SchemaError             a data schema file or object is invalid
    │   └── DataValidationError     validation found error-severity anomalies
    └── StoreError                  the metadata store failed (connection, schema)
"""

from __future__ import annotations


class NinefoldError(Exception):
    """Root of every error ninefold raises on purpose."""


class ConfigError(NinefoldError):
    """Settings, configuration files or environment variables are invalid."""


class InvalidArgument(NinefoldError):
    """A value passed to the API is of the wrong type or out of range."""


class InvalidName(InvalidArgument):
    """A name (experiment, run, param, metric, tag, model, alias) breaks the rules."""


class FilterSyntaxError(InvalidArgument):
    """A search filter string does not parse.

    Attributes:
        text: the whole filter string.
        position: the 0-based offset of the offending token.
    """

    def __init__(self, message: str, text: str, position: int) -> None:
        self.text = text
        self.position = position
        caret = " " * position + "^"
        super().__init__(f"{message}\n  {text}\n  {caret}")


class ParamConflict(InvalidArgument):
    """A parameter was logged again with a different value (params are immutable)."""


class NotFound(NinefoldError):
    """Something that was asked for does not exist."""


class RunNotFound(NotFound):
    """No run has the given id."""


class ExperimentNotFound(NotFound):
    """No experiment has the given name or id."""


class ModelNotFound(NotFound):
    """No registered model, version or alias matches."""


class ArtifactNotFound(NotFound):
    """No artifact (or local file to log) exists at the given path."""


class DatasetNotFound(NotFound):
    """No dataset version matches the name and version asked for."""


class AlreadyExists(NinefoldError):
    """A create collides with an entity that already exists."""


class StateError(NinefoldError):
    """The operation does not fit the entity's current state."""


class NoActiveRun(StateError):
    """A logging call was made outside ``nf.start_run()``."""


class IntegrityError(NinefoldError):
    """Stored bytes no longer hash to the digest they were stored under."""


class UnsafeModelError(NinefoldError):
    """Loading this model would execute code that was not marked as trusted."""


class MissingDependency(NinefoldError):
    """An optional dependency is needed; the message names the extra to install."""


class DataError(NinefoldError):
    """Data cannot be read, profiled or compared (bad file, encoding, unsupported type)."""


class SchemaError(DataError):
    """A data schema (YAML file or object) is invalid: unknown key, bad value or type."""


class DataValidationError(DataError):
    """Validation found error-severity anomalies.

    Attributes:
        report: the :class:`~ninefold.data.ValidationReport` with every anomaly.
    """

    def __init__(self, message: str, report: object = None) -> None:
        self.report = report
        super().__init__(message)


class StoreError(NinefoldError):
    """The metadata store failed: connection, schema version or a database error."""


class PipelineDefinitionError(InvalidArgument):
    """A pipeline or step is defined or called in a way that cannot be run."""


class UnserializableOutput(InvalidArgument):
    """A step returned a value that no registered materializer can store."""


class StepFailed(StateError):
    """A step of a pipeline run failed; the pipeline run is marked failed.

    Attributes:
        pipeline_run_id: the failed pipeline run.
        step_run_id: the failed step's run.
        node: the step's node in the graph.
    """

    def __init__(
        self, message: str, *, pipeline_run_id: str = "", step_run_id: str = "", node: str = ""
    ) -> None:
        self.pipeline_run_id = pipeline_run_id
        self.step_run_id = step_run_id
        self.node = node
        super().__init__(message)


class StepTimeout(StepFailed):
    """A step ran longer than its ``timeout_s``."""


class SweepFailed(StepFailed):
    """Some combinations of a sweep failed; the others finished and are recorded.

    The ``StepFailed`` attributes name the first failed combination's runs.

    Attributes:
        sweep_run_id: the sweep's parent run (marked failed).
        failures: one ``StepFailed`` per failed combination, in combination order.
        result: the sweep's result (a ``SweepResult``) with the combinations that finished.
    """

    def __init__(
        self, message: str, *, sweep_run_id: str, failures: list[StepFailed], result: object
    ) -> None:
        first = failures[0]
        super().__init__(
            message,
            pipeline_run_id=first.pipeline_run_id,
            step_run_id=first.step_run_id,
            node=first.node,
        )
        self.sweep_run_id = sweep_run_id
        self.failures = failures
        self.result = result


class ReproduceError(StateError):
    """A run cannot be reproduced from what it recorded.

    Its commit is not in the repository, its diff does not apply, or its
    pipeline cannot be imported from the recorded code.
    """
