"""The Powertools logger, metrics and tracer every Mercator function shares.

Mercator's own modules log through the standard library under the ``mercator`` logger; they get the
same handler and JSON format as the Powertools logger, so their lines carry the invocation's context
(request id, cold start) like the handler's own.
"""

from __future__ import annotations

import logging

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from mercator.settings import ObservabilitySettings

PACKAGE_LOGGER = "mercator"

settings = ObservabilitySettings.from_environ()

logger = Logger(service=settings.service_name, level=settings.log_level)
metrics = Metrics(namespace=settings.metrics_namespace, service=settings.service_name)
tracer = Tracer(service=settings.service_name)

# When the service is named "mercator", the package's loggers are already children of Powertools' own.
if logger.name.split(".")[0] != PACKAGE_LOGGER:
    logging.getLogger(PACKAGE_LOGGER)  # registered, so the copy below finds it
    copy_config_to_registered_loggers(source_logger=logger, include={PACKAGE_LOGGER})
