"""The local stack: Mercator's AWS side on one machine, for development and end-to-end tests.

moto's AWS server on a loopback port with every table, queue, bucket, event bus and secret of
``template.yaml`` (keys, indexes, TTL, visibility timeouts, redrive policies to the dead-letter queues,
generated secret values), and a runner that invokes the real handlers (``functions/<name>/app.py``) in
this process with the environments the template gives them and the events their triggers deliver.
Development only: it is not part of the Lambda layer.

Public API::

    with LocalStack(template_path, parameters={"Stage": "dev"}, retry_after_seconds=0) as stack:
        stack.endpoint_url, stack.aws_environment   # where boto3 goes (also set in os.environ)
        stack.tables["StateTable"]                  # table names by logical id
        stack.queue_url("EnrichQueue"), stack.queue_arn("EnrichDLQ")
        stack.dead_letter_queue("EnrichQueue")      # "EnrichDLQ"
        stack.environment("DetailEnrichmentFunction")
        stack.create_secret("mercator/acme", {"accessToken": "..."})
        stack.secret_arn("OAuthStateKeySecret")     # a template secret's ARN (its Ref)
        url = stack.serve_api("IntegrationsApi")    # API Gateway REST over HTTP: authorizers,
                                                    # gateway responses, proxy events
        origin = stack.serve_sandbox(Sandbox("salla"))   # a sandbox store over HTTP
        stack.runner.invoke_schedule("ScheduledSyncFunction", "products")
        stack.runner.poll_once("SyncJobsQueue")     # one batch, like Lambda's SQS poller
        report = stack.runner.run_until_idle()      # RunReport: invocations, succeeded, failed,
                                                    # dead_letters, idle
        stack.receive_all("TriggerQueue")           # take what no local function consumes
"""

from mercator_local.event_source import BatchOutcome, QueueOperationError, SqsEventSource
from mercator_local.events import scheduled_event, sqs_event, sqs_record
from mercator_local.functions import FunctionSpec, ScheduleSource, SqsSource
from mercator_local.handlers import HandlerNotFoundError, WarmFunction, applied_environment
from mercator_local.intrinsics import TemplateError
from mercator_local.lambda_context import LocalLambdaContext
from mercator_local.runner import Runner, RunReport
from mercator_local.stack import DEFAULT_TEMPLATE, LocalStack
from mercator_local.template import Template

__all__ = [
    "DEFAULT_TEMPLATE",
    "BatchOutcome",
    "FunctionSpec",
    "HandlerNotFoundError",
    "LocalLambdaContext",
    "LocalStack",
    "QueueOperationError",
    "RunReport",
    "Runner",
    "ScheduleSource",
    "SqsEventSource",
    "SqsSource",
    "Template",
    "TemplateError",
    "WarmFunction",
    "applied_environment",
    "scheduled_event",
    "sqs_event",
    "sqs_record",
]
