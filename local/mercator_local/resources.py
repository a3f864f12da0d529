"""The template's tables, queues, buckets, event buses and secrets, created on the local server as
CloudFormation would.

Each creator maps the resolved CloudFormation properties onto the service API's request and raises
TemplateError for a property it does not know, so nothing in the template is silently left out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mercator_local.intrinsics import ACCOUNT_ID, Physical, Resolver, TemplateError

# CloudFormation properties of a table that travel unchanged in CreateTable.
_TABLE_PASSTHROUGH = (
    "AttributeDefinitions",
    "KeySchema",
    "BillingMode",
    "ProvisionedThroughput",
    "LocalSecondaryIndexes",
    "TableClass",
    "DeletionProtectionEnabled",
)
# Properties that change nothing a local table does (the server has no backups, tags or insights).
_TABLE_IGNORED = (
    "Tags",
    "ContributorInsightsSpecification",
    "KinesisStreamSpecification",
    "ImportSourceSpecification",
)

# CloudFormation queue properties and the SQS attribute each one sets.
_QUEUE_ATTRIBUTES = {
    "ContentBasedDeduplication": "ContentBasedDeduplication",
    "DeduplicationScope": "DeduplicationScope",
    "DelaySeconds": "DelaySeconds",
    "FifoQueue": "FifoQueue",
    "FifoThroughputLimit": "FifoThroughputLimit",
    "KmsDataKeyReusePeriodSeconds": "KmsDataKeyReusePeriodSeconds",
    "KmsMasterKeyId": "KmsMasterKeyId",
    "MaximumMessageSize": "MaximumMessageSize",
    "MessageRetentionPeriod": "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
    "RedriveAllowPolicy": "RedriveAllowPolicy",
    "RedrivePolicy": "RedrivePolicy",
    "SqsManagedSseEnabled": "SqsManagedSseEnabled",
    "VisibilityTimeout": "VisibilityTimeout",
}

# GenerateSecretString properties that GetRandomPassword takes under the same names.
_PASSWORD_OPTIONS = (
    "PasswordLength",
    "ExcludeCharacters",
    "ExcludeNumbers",
    "ExcludePunctuation",
    "ExcludeUppercase",
    "ExcludeLowercase",
    "IncludeSpace",
    "RequireEachIncludedType",
)


def physical_name(stack_name: str, logical_id: str) -> str:
    """The name CloudFormation would generate, shortened to read well: ``<stack>-<LogicalId>``."""
    return f"{stack_name}-{logical_id}"


def create_table(
    client: Any, *, stack_name: str, region: str, logical_id: str, properties: Mapping[str, Any]
) -> Physical:
    """CreateTable, then TTL and point-in-time recovery, which DynamoDB sets with separate calls."""
    path = f"Resources.{logical_id}.Properties"
    known = {
        *_TABLE_PASSTHROUGH,
        *_TABLE_IGNORED,
        "TableName",
        "GlobalSecondaryIndexes",
        "StreamSpecification",
        "SSESpecification",
        "TimeToLiveSpecification",
        "PointInTimeRecoverySpecification",
    }
    _refuse_unknown(properties, known, path)
    for required in ("AttributeDefinitions", "KeySchema"):
        if required not in properties:
            raise TemplateError(f"{path}: a table needs {required}")
    name = str(properties.get("TableName") or physical_name(stack_name, logical_id))
    request: dict[str, Any] = {"TableName": name}
    request.update({key: properties[key] for key in _TABLE_PASSTHROUGH if key in properties})
    request["BillingMode"] = properties.get("BillingMode", "PROVISIONED")
    if "GlobalSecondaryIndexes" in properties:
        request["GlobalSecondaryIndexes"] = [
            # Contributor insights are CloudFormation's per-index extra; CreateTable has no such key.
            {key: value for key, value in index.items() if key != "ContributorInsightsSpecification"}
            for index in properties["GlobalSecondaryIndexes"]
        ]
    if "StreamSpecification" in properties:
        request["StreamSpecification"] = {"StreamEnabled": True, **properties["StreamSpecification"]}
    if "SSESpecification" in properties:
        sse = properties["SSESpecification"]
        request["SSESpecification"] = {
            "Enabled": bool(sse.get("SSEEnabled", False)),
            **{key: sse[key] for key in ("SSEType", "KMSMasterKeyId") if key in sse},
        }
    description = client.create_table(**request)["TableDescription"]

    ttl = properties.get("TimeToLiveSpecification")
    if ttl:
        client.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": bool(ttl["Enabled"])},
        )
    recovery = properties.get("PointInTimeRecoverySpecification")
    if recovery:
        client.update_continuous_backups(
            TableName=name,
            PointInTimeRecoverySpecification={
                "PointInTimeRecoveryEnabled": bool(recovery.get("PointInTimeRecoveryEnabled", False))
            },
        )
    arn = str(description.get("TableArn") or f"arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/{name}")
    attributes = {"Arn": arn}
    if description.get("LatestStreamArn"):
        attributes["StreamArn"] = str(description["LatestStreamArn"])
    return Physical(ref=name, attributes=attributes)


def create_queue(client: Any, *, stack_name: str, logical_id: str, properties: Mapping[str, Any]) -> Physical:
    """CreateQueue with every attribute the template sets; a FIFO queue's generated name ends in .fifo."""
    path = f"Resources.{logical_id}.Properties"
    _refuse_unknown(properties, {*_QUEUE_ATTRIBUTES, "QueueName", "Tags"}, path)
    fifo = _flag(properties.get("FifoQueue", False))
    name = str(
        properties.get("QueueName") or physical_name(stack_name, logical_id) + (".fifo" if fifo else "")
    )
    attributes = {
        attribute: _attribute_string(properties[key])
        for key, attribute in _QUEUE_ATTRIBUTES.items()
        if key in properties
    }
    redrive = properties.get("RedrivePolicy")
    if isinstance(redrive, Mapping) and not {"deadLetterTargetArn", "maxReceiveCount"} <= set(redrive):
        raise TemplateError(f"{path}.RedrivePolicy: needs deadLetterTargetArn and maxReceiveCount")
    url = str(client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])
    arn = str(
        client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    )
    return Physical(ref=url, attributes={"Arn": arn, "QueueName": name, "QueueUrl": url})


def create_bucket(
    client: Any, *, stack_name: str, region: str, logical_id: str, properties: Mapping[str, Any]
) -> Physical:
    """CreateBucket, then its encryption, public access block, ownership, versioning and lifecycle rules."""
    path = f"Resources.{logical_id}.Properties"
    known = {
        "BucketName",
        "BucketEncryption",
        "PublicAccessBlockConfiguration",
        "OwnershipControls",
        "VersioningConfiguration",
        "LifecycleConfiguration",
        "Tags",
    }
    _refuse_unknown(properties, known, path)
    # Bucket names are lowercase; CloudFormation lowercases the names it generates too.
    name = str(properties.get("BucketName") or physical_name(stack_name, logical_id).lower())
    if region == "us-east-1":
        client.create_bucket(Bucket=name)
    else:
        client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    if "BucketEncryption" in properties:
        # CloudFormation nests the rules one level deeper than the API and names them differently.
        rules = [
            {
                "ApplyServerSideEncryptionByDefault" if key == "ServerSideEncryptionByDefault" else key: value
                for key, value in rule.items()
            }
            for rule in properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        ]
        client.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    if "PublicAccessBlockConfiguration" in properties:
        client.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=properties["PublicAccessBlockConfiguration"]
        )
    if "OwnershipControls" in properties:
        client.put_bucket_ownership_controls(Bucket=name, OwnershipControls=properties["OwnershipControls"])
    if "VersioningConfiguration" in properties:
        versioning = properties["VersioningConfiguration"]
        _refuse_unknown(versioning, {"Status"}, f"{path}.VersioningConfiguration")
        client.put_bucket_versioning(
            Bucket=name, VersioningConfiguration={"Status": str(versioning["Status"])}
        )
    if "LifecycleConfiguration" in properties:
        rules = [
            _lifecycle_rule(rule, f"{path}.LifecycleConfiguration")
            for rule in properties["LifecycleConfiguration"]["Rules"]
        ]
        client.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules})
    return Physical(
        ref=name, attributes={"Arn": f"arn:aws:s3:::{name}", "DomainName": f"{name}.s3.amazonaws.com"}
    )


def _lifecycle_rule(rule: Mapping[str, Any], path: str) -> dict[str, Any]:
    """A CloudFormation lifecycle rule in the shape PutBucketLifecycleConfiguration takes."""
    _refuse_unknown(rule, {"Id", "Status", "Prefix", "ExpirationInDays", "NoncurrentVersionExpiration"}, path)
    converted: dict[str, Any] = {"Status": rule["Status"], "Filter": {"Prefix": str(rule.get("Prefix", ""))}}
    if "Id" in rule:
        converted["ID"] = rule["Id"]
    if "ExpirationInDays" in rule:
        converted["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    if "NoncurrentVersionExpiration" in rule:
        noncurrent = rule["NoncurrentVersionExpiration"]
        _refuse_unknown(noncurrent, {"NoncurrentDays"}, f"{path}.NoncurrentVersionExpiration")
        converted["NoncurrentVersionExpiration"] = {"NoncurrentDays": int(noncurrent["NoncurrentDays"])}
    return converted


def create_event_bus(client: Any, *, logical_id: str, properties: Mapping[str, Any]) -> Physical:
    path = f"Resources.{logical_id}.Properties"
    _refuse_unknown(properties, {"Name", "Description", "Tags"}, path)
    name = str(properties["Name"])
    arn = str(client.create_event_bus(Name=name)["EventBusArn"])
    return Physical(ref=name, attributes={"Arn": arn, "Name": name})


def create_secret(
    client: Any, *, stack_name: str, logical_id: str, properties: Mapping[str, Any]
) -> Physical:
    """CreateSecret with the template's SecretString, or a value generated as GenerateSecretString says;
    with neither the secret is created empty, as CloudFormation does. Ref and ``Id`` are the ARN."""
    path = f"Resources.{logical_id}.Properties"
    _refuse_unknown(
        properties, {"Name", "Description", "SecretString", "GenerateSecretString", "KmsKeyId", "Tags"}, path
    )
    if "SecretString" in properties and "GenerateSecretString" in properties:
        raise TemplateError(f"{path}: SecretString and GenerateSecretString exclude each other; keep one")
    request: dict[str, Any] = {"Name": str(properties.get("Name") or physical_name(stack_name, logical_id))}
    request.update({key: properties[key] for key in ("Description", "KmsKeyId", "Tags") if key in properties})
    if "SecretString" in properties:
        request["SecretString"] = str(properties["SecretString"])
    elif "GenerateSecretString" in properties:
        request["SecretString"] = _generated_secret(
            client, properties["GenerateSecretString"], f"{path}.GenerateSecretString"
        )
    arn = str(client.create_secret(**request)["ARN"])
    return Physical(ref=arn, attributes={"Id": arn})


def _generated_secret(client: Any, generate: Any, path: str) -> str:
    """A value made by GetRandomPassword, alone or under GenerateStringKey in SecretStringTemplate."""
    if not isinstance(generate, Mapping):
        raise TemplateError(f"{path}: must be a mapping")
    _refuse_unknown(generate, {*_PASSWORD_OPTIONS, "SecretStringTemplate", "GenerateStringKey"}, path)
    options: dict[str, Any] = {}
    for key, value in generate.items():
        if key == "PasswordLength":
            if isinstance(value, bool) or not str(value).isdigit() or not 1 <= int(value) <= 4096:
                raise TemplateError(f"{path}.PasswordLength: must be from 1 to 4096, got {value!r}")
            options[key] = int(value)
        elif key == "ExcludeCharacters":
            options[key] = str(value)
        elif key in _PASSWORD_OPTIONS:
            options[key] = _flag(value)
    password = str(client.get_random_password(**options)["RandomPassword"])
    template, key = generate.get("SecretStringTemplate"), generate.get("GenerateStringKey")
    if template is None and key is None:
        return password
    if template is None or key is None:
        raise TemplateError(f"{path}: SecretStringTemplate and GenerateStringKey go together; give both")
    try:
        document = json.loads(str(template))
    except json.JSONDecodeError as exc:
        raise TemplateError(f"{path}.SecretStringTemplate: not JSON ({exc})") from None
    if not isinstance(document, dict):
        raise TemplateError(f"{path}.SecretStringTemplate: must be a JSON object, got {template!r}")
    document[str(key)] = password
    return json.dumps(document)


def _refuse_unknown(properties: Mapping[str, Any], known: set[str], path: str) -> None:
    unknown = sorted(set(properties) - known)
    if unknown:
        raise TemplateError(
            f"{path}: the local stack does not know {', '.join(unknown)} (known: {', '.join(sorted(known))})"
        )


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _attribute_string(value: Any) -> str:
    # SQS attributes are strings; policies are JSON documents and booleans are "true"/"false".
    if isinstance(value, Mapping):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def create_template_table(
    client: Any,
    logical_id: str,
    *,
    table_name: str,
    template: Path | None = None,
    region: str = "eu-central-1",
) -> str:
    """Create ``logical_id``'s table of template.yaml under ``table_name`` on ``client``.

    For tests on in-process moto: the keys, indexes and TTL come from the template itself, never from
    a second copy of them. Parameters take their defaults.
    """
    from mercator_local.stack import DEFAULT_TEMPLATE  # noqa: PLC0415 - the stack imports this module
    from mercator_local.template import TABLE, Template  # noqa: PLC0415

    loaded = Template.load(template or DEFAULT_TEMPLATE)
    resource = loaded.of_type(TABLE).get(logical_id)
    if resource is None:
        raise TemplateError(
            f"{loaded.path}: no table {logical_id!r}; tables: {', '.join(loaded.of_type(TABLE))}"
        )
    resolver = Resolver(
        stack_name="mercator-test",
        region=region,
        parameters=loaded.parameter_values({}),
        conditions=loaded.conditions,
        mappings=loaded.mappings,
        physical=lambda _logical_id: None,
    )
    path = f"Resources.{logical_id}.Properties"
    properties = dict(resolver.resolve(resource.get("Properties", {}), path))
    properties["TableName"] = table_name
    return create_table(
        client, stack_name="mercator-test", region=region, logical_id=logical_id, properties=properties
    ).ref
