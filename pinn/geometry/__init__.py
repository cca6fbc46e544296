"""Geometry beyond boxes: primitives, CSG, signed distances, named boundary parts, and
interior and boundary sampling (uniform by measure, with outward normals)."""

from pinn.geometry.base import BoundarySample, Facet, Geometry
from pinn.geometry.csg import Difference, Intersection, Union
from pinn.geometry.primitives import Ball, Box, Disk, Hypercube, Hypersphere, Interval, Polygon, Rectangle
from pinn.geometry.shapes import Perforated

__all__ = ["Geometry", "Facet", "BoundarySample", "Box", "Ball", "Polygon", "Perforated", "Interval", "Rectangle",
           "Disk", "Hypercube", "Hypersphere", "Union", "Difference", "Intersection"]
