"""The Redis broker transport: kombu's, with one leak closed.

When Redis goes away while a worker holds prefetched messages, kombu's Redis
QoS fails to acknowledge them (``Couldn't ack … ConnectionError``) and never
frees their prefetch slots. Once every slot has leaked, the worker stops
issuing BRPOP, so it never notices that the connection died and never
reconnects: alive, but consuming nothing, for good. Here a failed
acknowledgement still frees its slot locally; the message stays in Redis's
unacknowledged set and is delivered again after the reconnect (every task is
safe to run twice). Selected by ``CELERY_BROKER_TRANSPORT`` for redis:// URLs.

It also asks for the priority queue first. kombu rotates the queues a worker
consumes (round robin: the queue just served goes last), and BRPOP serves the
first non-empty key it is given, so under round robin two waiting priority
tasks would each wait behind an ordinary one. Here every BRPOP names
``PRIORITY_QUEUE`` first: a waiting priority task is always the next taken.
"""

from __future__ import annotations

from kombu.transport import redis, virtual
from kombu.utils.scheduling import round_robin_cycle

PRIORITY_QUEUE = "priority"


class PriorityFirstCycle(round_robin_cycle):
    """Round robin among the queues, with the priority queue always first."""

    def consume(self, n: int) -> list[str]:
        queues = super().consume(n)
        return sorted(queues, key=lambda queue: queue != PRIORITY_QUEUE)


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
    queue_order_strategy = "codequest.broker:PriorityFirstCycle"


class Transport(redis.Transport):
    Channel = Channel
