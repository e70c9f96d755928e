-- Tickets by tag: the search reads a tag's tickets when the tag is the whole query or
-- drives it, and the primary key (ticket_id, tag) could only be scanned whole for that.
CREATE INDEX ticket_tags_tag ON ticket_tags (tag, ticket_id);
