"""Two "Inspector2 Finding" events in the shape of AWS's documented examples (the ECR user
guide's image scan finding event and the Inspector user guide's ECR finding schema), written
for these tests: the older "Dec 3, 2021, 6:02:30 PM" times with a resource region "N/A", an
untagged image and a '/' in the repository name; the newer "Wed Sep 04 16:55:38.411 UTC 2024"
times with tags, a deeper name and the EPSS and in-use fields."""

from __future__ import annotations

from typing import Any

HEX = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
DIGEST = f"sha256:{HEX}"

DOCUMENTED_US_FORMAT: dict[str, Any] = {
    "version": "0",
    "id": "5e0d2b7c-1f3a-4c8e-9b6d-0a7f3e2d1c4b",
    "detail-type": "Inspector2 Finding",
    "source": "aws.inspector2",
    "account": "123456789012",
    "time": "2021-12-03T18:02:30Z",
    "region": "us-east-2",
    "resources": [f"arn:aws:ecr:us-east-2:123456789012:repository/team/web/sha256:{HEX}"],
    "detail": {
        "awsAccountId": "123456789012",
        "description": "In Expat before 2.4.5, there is an integer overflow in storeRawNames.",
        "findingArn": "arn:aws:inspector2:us-east-2:123456789012:finding/be674aaddd0f75acEXAMPLE",
        "firstObservedAt": "Dec 3, 2021, 6:02:30 PM",
        "inspectorScore": 9.8,
        "lastObservedAt": "Dec 3, 2021, 6:02:30 PM",
        "packageVulnerabilityDetails": {
            "cvss": [{"baseScore": 9.8, "source": "NVD", "version": "3.1"}],
            "referenceUrls": ["https://github.com/libexpat/libexpat/pull/561"],
            "source": "DEBIAN_CVE",
            "vulnerabilityId": "CVE-2022-25315",
            "vulnerablePackages": [
                {"name": "expat", "packageManager": "OS", "version": "2.2.10-2"},
            ],
        },
        "remediation": {"recommendation": {"text": "None Provided"}},
        "resources": [
            {
                "details": {
                    "awsEcrContainerImage": {
                        "architecture": "amd64",
                        "imageHash": DIGEST,
                        "imageTags": [],
                        "platform": "DEBIAN_11",
                        "pushedAt": "Dec 3, 2021, 6:02:00 PM",
                        "registry": "123456789012",
                        "repositoryName": "team/web",
                    }
                },
                "id": f"arn:aws:ecr:us-east-2:123456789012:repository/team/web/sha256:{HEX}",
                "partition": "N/A",
                "region": "N/A",
                "type": "AWS_ECR_CONTAINER_IMAGE",
            }
        ],
        "severity": "CRITICAL",
        "status": "ACTIVE",
        "title": "CVE-2022-25315 - expat",
        "type": "PACKAGE_VULNERABILITY",
        "updatedAt": "Dec 3, 2021, 6:02:30 PM",
    },
}
DOCUMENTED_JAVA_ARN = (
    f"arn:aws:ecr:eu-west-1:111122223333:repository/platform/base/api/sha256:{HEX}"
)
DOCUMENTED_JAVA_FORMAT: dict[str, Any] = {
    "version": "0",
    "id": "9c1e7a52-3b4d-4f60-8e2a-6d5b4c3a2f10",
    "detail-type": "Inspector2 Finding",
    "source": "aws.inspector2",
    "account": "111122223333",
    "time": "2024-09-04T16:55:39Z",
    "region": "eu-west-1",
    "resources": [DOCUMENTED_JAVA_ARN],
    "detail": {
        "awsAccountId": "111122223333",
        "epss": {"score": 0.00044},
        "exploitAvailable": "NO",
        "findingArn": "arn:aws:inspector2:eu-west-1:111122223333:finding/0f3c6a8e2d1b4a5c9e7f",
        "firstObservedAt": "Tue Sep 03 09:12:01.002 UTC 2024",
        "fixAvailable": "YES",
        "inspectorScore": 5.3,
        "lastObservedAt": "Wed Sep 04 16:55:38.411 UTC 2024",
        "packageVulnerabilityDetails": {
            "cvss": [{"baseScore": 5.3, "source": "NVD", "version": "3.1"}],
            "referenceUrls": [],
            "source": "NVD",
            "vulnerabilityId": "CVE-2024-6119",
            "vulnerablePackages": [{"name": "openssl", "version": "3.0.13"}],
        },
        "resources": [
            {
                "details": {
                    "awsEcrContainerImage": {
                        "architecture": "arm64",
                        "imageHash": DIGEST,
                        "imageTags": ["v1.4.2", "latest"],
                        "inUseCount": 3,
                        "lastInUseAt": "Wed Sep 04 16:50:00.000 UTC 2024",
                        "platform": "AMAZON_LINUX_2023",
                        "pushedAt": "Tue Sep 03 09:11:00.000 UTC 2024",
                        "registry": "111122223333",
                        "repositoryName": "platform/base/api",
                    }
                },
                "id": DOCUMENTED_JAVA_ARN,
                "partition": "aws",
                "region": "eu-west-1",
                "type": "AWS_ECR_CONTAINER_IMAGE",
            }
        ],
        "severity": "MEDIUM",
        "status": "CLOSED",
        "title": "CVE-2024-6119 - openssl",
        "type": "PACKAGE_VULNERABILITY",
        "updatedAt": "Wed Sep 04 16:55:38.411 UTC 2024",
    },
}
