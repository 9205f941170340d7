"""free-generation-image: text prompt -> images and short videos via NemoVideo, as files."""

from free_generation_image.skillmeta import SKILL

__version__ = SKILL.version

__all__ = ["__version__"]
