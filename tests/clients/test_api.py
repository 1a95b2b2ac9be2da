"""The clients' REST wrapper: every failure, the network's included, is an ApiError with a code."""

import pytest
from anysupport_client.api import ApiError, RestClient


async def test_a_server_that_cannot_be_reached_is_an_api_error():
    # nothing listens on the discard port; Tornado raises instead of answering 599 here
    with pytest.raises(ApiError) as failure:
        await RestClient("http://127.0.0.1:9", timeout=5).join("1234")
    assert (failure.value.status, failure.value.error) == (599, "unreachable")
