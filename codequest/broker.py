"""The Redis broker transport: kombu's, with one leak closed.

When Redis goes away while a worker holds prefetched messages, kombu's Redis
QoS fails to acknowledge them (``Couldn't ack … ConnectionError``) and never
frees their prefetch slots. Once every slot has leaked, the worker stops
issuing BRPOP, so it never notices that the connection died and never
reconnects: alive, but consuming nothing, for good. Here a failed
acknowledgement still frees its slot locally; the message stays in Redis's
unacknowledged set and is delivered again after the reconnect (every task is
safe to run twice). Selected by ``CELERY_BROKER_TRANSPORT`` for redis:// URLs.
"""

from __future__ import annotations

from kombu.transport import redis, virtual


class QoS(redis.QoS):
    def ack(self, delivery_tag: str) -> None:
        try:
            super().ack(delivery_tag)
        except BaseException:
            virtual.QoS.ack(self, delivery_tag)  # free the slot, then report
            raise

    def reject(self, delivery_tag: str, requeue: bool = False) -> None:
        try:
            super().reject(delivery_tag, requeue=requeue)
        except BaseException:
            virtual.QoS.ack(self, delivery_tag)
            raise


class Channel(redis.Channel):
    QoS = QoS


class Transport(redis.Transport):
    Channel = Channel
