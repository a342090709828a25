"""S3: AWS::S3::Bucket with its configuration properties, deleted as AWS deletes it.

moto's AWS::S3::Bucket reads only `BucketName`, `Tags` and the first rule of `BucketEncryption`
(without `BucketKeyEnabled`): a bucket declared versioned, public-access-blocked or with
`OwnershipControls` comes out unversioned and open in `get_bucket_versioning`,
`get_public_access_block` and `get_bucket_ownership_controls`. Its delete silently does nothing
for a bucket that still holds objects (or object versions), so `delete_stack` completes and leaves
the bucket behind; AWS fails that delete with BucketNotEmpty. An empty bucket, versioned or not,
is deleted.

moto keeps a bucket's tags after the bucket is deleted, keyed on its ARN, which is only its
name: a new bucket of that name, in a later stack, came up carrying the old stack's tags and
never got its own, so the portal's sweep of the new environment could not find it. A deleted
bucket's tags go with it.

AWS::S3::BucketPolicy, in nearly every sample template that makes a bucket, was not modelled:
the bucket kept no policy. It is put with PutBucketPolicy, and deleted with the resource.
"""

from __future__ import annotations

import json
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.s3.exceptions import BucketNotEmpty, MissingBucket
from moto.s3.models import FakeBucket, S3Backend, s3_backends
from moto.utilities.utils import get_partition

from services.clouds.embedded_extensions import stack_tags
from services.clouds.embedded_extensions._template import as_bool, missing_tags


def _backend(account_id: str, region_name: str) -> S3Backend:
    return s3_backends[account_id][get_partition(region_name)]


def _encryption(configuration: dict[str, Any]) -> dict[str, Any]:
    """`BucketEncryption` in the form moto's S3 API stores a PutBucketEncryption body."""
    rule = configuration["ServerSideEncryptionConfiguration"][0]
    by_default = rule.get("ServerSideEncryptionByDefault", {})
    stored: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": {
        "SSEAlgorithm": by_default["SSEAlgorithm"],
        **({"KMSMasterKeyID": by_default["KMSMasterKeyID"]}
           if by_default.get("KMSMasterKeyID") else {})}}
    if "BucketKeyEnabled" in rule:
        stored["BucketKeyEnabled"] = "true" if as_bool(rule["BucketKeyEnabled"]) else "false"
    return {"Rule": stored}


def _apply_configuration(backend: S3Backend, bucket_name: str,
                         properties: dict[str, Any]) -> None:
    if "BucketEncryption" in properties:
        backend.put_bucket_encryption(bucket_name, _encryption(properties["BucketEncryption"]))
    versioning = properties.get("VersioningConfiguration")
    if versioning:
        backend.put_bucket_versioning(bucket_name, versioning["Status"])
    if "PublicAccessBlockConfiguration" in properties:
        block = properties["PublicAccessBlockConfiguration"]
        backend.put_public_access_block(bucket_name, {
            key: as_bool(block.get(key), False)
            for key in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy",
                        "RestrictPublicBuckets")})
    else:
        backend.get_bucket(bucket_name).public_access_block = None
    ownership = properties.get("OwnershipControls")
    if ownership and ownership.get("Rules"):
        backend.put_bucket_ownership_controls(bucket_name,
                                              ownership["Rules"][0]["ObjectOwnership"])
    elif ownership is None:
        backend.delete_bucket_ownership_controls(bucket_name)


def _bucket_reads_its_configuration() -> None:
    create = FakeBucket.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]
    update = FakeBucket.update_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create_from_cloudformation_json(cls: Any, resource_name: str, cloudformation_json: Any,
                                        account_id: str, region_name: str,
                                        **kwargs: Any) -> FakeBucket:
        bucket = create(cls, resource_name, cloudformation_json, account_id, region_name,
                        **kwargs)
        _apply_configuration(_backend(account_id, region_name), bucket.name,
                             cloudformation_json.get("Properties", {}))
        return bucket

    def update_from_cloudformation_json(cls: Any, original_resource: FakeBucket,
                                        new_resource_name: str, cloudformation_json: Any,
                                        account_id: str, region_name: str) -> FakeBucket:
        bucket = update(cls, original_resource, new_resource_name, cloudformation_json,
                        account_id, region_name)
        _apply_configuration(_backend(account_id, region_name), bucket.name,
                             cloudformation_json.get("Properties", {}))
        return bucket

    for name, method in (("create_from_cloudformation_json", create_from_cloudformation_json),
                         ("update_from_cloudformation_json", update_from_cloudformation_json)):
        setattr(FakeBucket, name, classmethod(method))


def _non_empty_bucket_is_not_deleted() -> None:
    def delete_from_cloudformation_json(cls: Any, resource_name: str, cloudformation_json: Any,
                                        account_id: str, region_name: str) -> None:
        backend = _backend(account_id, region_name)
        try:
            bucket = backend.get_bucket(resource_name)
        except MissingBucket:
            return
        # `keys` holds every version and delete marker of a versioned bucket too.
        if bucket.keys:
            raise BucketNotEmpty(resource_name)
        backend.delete_bucket(resource_name)

    setattr(FakeBucket, "delete_from_cloudformation_json",
            classmethod(delete_from_cloudformation_json))


def _deleted_bucket_drops_its_tags() -> None:
    delete_bucket = S3Backend.delete_bucket

    def delete_bucket_and_its_tags(self: S3Backend, bucket_name: str) -> FakeBucket | None:
        deleted = delete_bucket(self, bucket_name)
        if deleted is not None:
            self.tagger.delete_all_tags_for_resource(deleted.arn)
        return deleted

    S3Backend.delete_bucket = delete_bucket_and_its_tags  # type: ignore[method-assign]


class BucketPolicy(CloudFormationModel):
    """AWS::S3::BucketPolicy: the policy of one bucket, kept on moto's bucket."""

    def __init__(self, physical_id: str, bucket_name: str) -> None:
        self.physical_id = physical_id
        self.bucket_name = bucket_name

    @property
    def physical_resource_id(self) -> str:
        return self.physical_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::S3::BucketPolicy"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str, **kwargs: Any) -> BucketPolicy:
        properties = cloudformation_json.get("Properties") or {}
        document = properties["PolicyDocument"]
        text = document if isinstance(document, str) else json.dumps(document)
        _backend(account_id, region_name).put_bucket_policy(properties["Bucket"], text.encode())
        return cls(resource_name, properties["Bucket"])

    def delete(self, account_id: str, region_name: str) -> None:
        try:
            _backend(account_id, region_name).delete_bucket_policy(self.bucket_name)
        except MissingBucket:
            pass  # its bucket went first, and the policy with it


def _tag_bucket(resource: FakeBucket, tags: stack_tags.StackTags, account_id: str,
                region_name: str) -> None:
    backend = _backend(account_id, region_name)
    extra = missing_tags(backend.tagger.get_tag_dict_for_resource(resource.arn), tags)
    if extra:
        backend.tag_resource(resource.arn, {t["Key"]: t["Value"] for t in extra})


def install() -> None:
    _bucket_reads_its_configuration()
    _non_empty_bucket_is_not_deleted()
    _deleted_bucket_drops_its_tags()
    stack_tags.register(FakeBucket, _tag_bucket)
