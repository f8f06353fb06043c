"""The S3 operation name of a request, from its method, path, query and headers.

What the embedded server counts by (``requests``) and scripts faults and holds by; the
names are S3's own (``PutObject``, ``ListObjectsV2``, ``UploadPartCopy``, ...). Path-style
requests only, which is what aios3fm and the peers send to a custom endpoint.
"""

from __future__ import annotations

from typing import Any

__all__ = ["classify"]

# Sub-resources that name an operation of their own, e.g. GET ?tagging -> GetObjectTagging.
_SUBRESOURCES = {
    "acl": "Acl",
    "tagging": "Tagging",
    "policy": "Policy",
    "cors": "Cors",
    "lifecycle": "LifecycleConfiguration",
    "versioning": "Versioning",
    "location": "Location",
    "encryption": "Encryption",
    "website": "Website",
    "logging": "Logging",
    "notification": "NotificationConfiguration",
    "replication": "Replication",
    "object-lock": "ObjectLockConfiguration",
    "ownershipControls": "OwnershipControls",
    "publicAccessBlock": "PublicAccessBlock",
    "attributes": "Attributes",
    "retention": "Retention",
    "legal-hold": "LegalHold",
}


def classify(method: str, path: str, query: dict[str, list[str]], headers: dict[str, Any]) -> str:
    """The S3 operation name of a path-style request (``PutObject``, ``ListObjectsV2``, ...)."""
    bucket, _, key = path.lstrip("/").partition("/")
    copy = "HTTP_X_AMZ_COPY_SOURCE" in headers
    sub = next((_SUBRESOURCES[q] for q in query if q in _SUBRESOURCES), None)
    if not bucket:
        return "ListBuckets"
    if not key:
        if method == "GET":
            if query.get("list-type") == ["2"]:
                return "ListObjectsV2"
            if "uploads" in query:
                return "ListMultipartUploads"
            if "versions" in query:
                return "ListObjectVersions"
            return f"GetBucket{sub}" if sub else "ListObjects"
        if method == "HEAD":
            return "HeadBucket"
        if method == "POST" and "delete" in query:
            return "DeleteObjects"
        verb = {"PUT": "Put", "DELETE": "Delete"}.get(method, method.title())
        if sub:
            return f"{verb}Bucket{sub}"
        return {"PUT": "CreateBucket", "DELETE": "DeleteBucket"}.get(method, f"{verb}Bucket")
    if method == "GET":
        if "uploadId" in query:
            return "ListParts"
        return f"GetObject{sub}" if sub else "GetObject"
    if method == "HEAD":
        return "HeadObject"
    if method == "PUT":
        if "partNumber" in query and "uploadId" in query:
            return "UploadPartCopy" if copy else "UploadPart"
        if sub:
            return f"PutObject{sub}"
        return "CopyObject" if copy else "PutObject"
    if method == "POST":
        if "uploads" in query:
            return "CreateMultipartUpload"
        if "uploadId" in query:
            return "CompleteMultipartUpload"
        if "restore" in query:
            return "RestoreObject"
        return "PostObject"
    if method == "DELETE":
        if "uploadId" in query:
            return "AbortMultipartUpload"
        return f"DeleteObject{sub}" if sub else "DeleteObject"
    return f"{method.title()}Object"
