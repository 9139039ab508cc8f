import pytest

from tfmot_portal.celery import app as celery_app


def _forget_connections():
    # The app keeps the pool of the broker it first used: forget it, so that the next
    # publish (in this test or a later one) takes the pool of the broker URL set now.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def broker():
    """``broker(url)`` points the Celery app at a broker until the test ends."""
    previous = celery_app.conf.broker_url

    def use(url):
        celery_app.conf.broker_url = url
        _forget_connections()

    yield use
    celery_app.conf.broker_url = previous
    _forget_connections()
