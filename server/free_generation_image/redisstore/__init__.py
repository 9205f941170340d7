"""The shared store on Redis (``FGI_REDIS_URL``): jobs, leases, locks and project pointers that several
replicas of the remote server use at once. Needs the ``redis`` extra."""

from free_generation_image.redisstore.hub import RedisHub, StoreUnavailable

__all__ = ["RedisHub", "StoreUnavailable"]
