"""The shared mapping layer: resources and webhook handlers map records with the same engine."""

from mercator.mapping.catalog import TransformError
from mercator.mapping.engine import (
    BatchResult,
    CompiledMapping,
    MappingDefinitionError,
    MappingError,
    Provenance,
    RecordFailure,
    Source,
    compile_mapping,
)
from mercator.mapping.functions import FUNCTIONS
from mercator.mapping.paths import CompiledPath, PathSyntaxError, compile_path
from mercator.mapping.transforms import TRANSFORMS

__all__ = [
    "FUNCTIONS",
    "TRANSFORMS",
    "BatchResult",
    "CompiledMapping",
    "CompiledPath",
    "MappingDefinitionError",
    "MappingError",
    "PathSyntaxError",
    "Provenance",
    "RecordFailure",
    "Source",
    "TransformError",
    "compile_mapping",
    "compile_path",
]
