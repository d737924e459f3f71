"""The sample company behind `ownfeed demo`: a blog, and (as they land) social accounts."""
