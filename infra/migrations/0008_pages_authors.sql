-- depends: 0006_story_keys_multiply_shift
-- Who wrote each article, as the page names them (the publisher's article data or its author
-- meta tags), in the page's order; empty when the page names nobody.

ALTER TABLE articles ADD COLUMN authors text[] NOT NULL DEFAULT '{}';
