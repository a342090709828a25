"""Real AWS: credentials and region come from boto3's own chain (AWS_PROFILE, SSO, instance role)."""

from __future__ import annotations


from services.settings import CloudTarget, Settings
from services.clouds import CloudConnection, new_session


def connect(settings: Settings) -> CloudConnection:
    session = new_session(region_name=settings.region)
    # AWS_ENDPOINT_URL, when set, is honoured by boto3 itself; passing None keeps that behaviour.
    return CloudConnection(
        target=CloudTarget.AWS, region=settings.region, endpoint_url=None, session=session
    )
