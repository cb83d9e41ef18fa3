-- 0004_problems.sql: the problem bank, its revisions and tests, and
-- submissions with one row per test run (the "questions", "testcase" and
-- "solutions" tables of seeds/000, extended).
--
-- A problem's content (problem.yaml's keys, its tests and generator: the
-- JSON form of judge/problem.h, PROBLEM_VIEW_STORE) is stored per revision
-- and never changed: `tandem problems import` and PUT /api/problems/:id add
-- a revision only when the content differs from the newest one, so a
-- submission keeps pointing at exactly what it was judged against.  A
-- deleted problem is archived (archived_at), never erased.
CREATE TABLE problems (
	id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9-]{1,64}$'),
	revision    integer NOT NULL CHECK (revision >= 1),
	title       text NOT NULL,
	difficulty  text NOT NULL CHECK (difficulty IN ('easy', 'medium', 'hard')),
	tags        text[] NOT NULL DEFAULT '{}',
	kind        text NOT NULL CHECK (kind IN ('function', 'solution', 'design')),
	archived_at timestamptz,
	created_at  timestamptz NOT NULL DEFAULT now(),
	updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE problem_revisions (
	problem    text NOT NULL REFERENCES problems (id),
	revision   integer NOT NULL CHECK (revision >= 1),
	content    jsonb NOT NULL,
	-- SHA-256 (hex) of the content as the importer serialises it (keys
	-- sorted, compact): "unchanged" is decided on it without parsing or
	-- comparing megabytes of JSON.
	hash       text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (problem, revision)
);

-- One row per test of a revision (seed 000's "testcase"): samples first.
CREATE TABLE problem_tests (
	problem  text NOT NULL,
	revision integer NOT NULL,
	idx      integer NOT NULL CHECK (idx >= 0),
	name     text NOT NULL,
	hidden   boolean NOT NULL,
	args     jsonb NOT NULL,
	expected jsonb NOT NULL,
	PRIMARY KEY (problem, revision, idx),
	FOREIGN KEY (problem, revision) REFERENCES problem_revisions (problem, revision)
);

-- A Submit (seed 000's "solutions"), judged against one revision.
CREATE TABLE submissions (
	id              text PRIMARY KEY,
	problem         text NOT NULL,
	revision        integer NOT NULL,
	room            text NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
	seat            text NOT NULL CHECK (seat IN ('interviewer', 'candidate')),
	agent           bigint,
	at              timestamptz NOT NULL DEFAULT now(),
	language        text NOT NULL DEFAULT 'python',
	code            text NOT NULL,
	verdict         text NOT NULL,
	accepted        boolean NOT NULL,
	passed          integer NOT NULL,
	total           integer NOT NULL,
	cpu_ms          double precision NOT NULL,
	mem_kb          bigint NOT NULL,
	budget_exceeded boolean NOT NULL DEFAULT false,
	FOREIGN KEY (problem, revision) REFERENCES problem_revisions (problem, revision)
);

CREATE INDEX submissions_room_at ON submissions (room, at);

-- One row per test run of a submission.  detail holds args, expected,
-- actual, stdout, stderr and error for sample tests only: a hidden test's
-- row is its name, verdict, time and memory, nothing a browser must not see.
CREATE TABLE submission_tests (
	submission text NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
	idx        integer NOT NULL CHECK (idx >= 0),
	name       text NOT NULL,
	hidden     boolean NOT NULL,
	verdict    text NOT NULL,
	cpu_ms     double precision NOT NULL,
	mem_kb     bigint NOT NULL,
	detail     jsonb,
	PRIMARY KEY (submission, idx)
);

-- Stores a validated problem (its JSON form, judge/problem.h
-- PROBLEM_VIEW_STORE) in one statement, so `tandem problems import` and
-- PUT /api/problems/:id share it and it is atomic however it is called: a
-- new revision (with its test rows) only when the content differs from the
-- newest one; otherwise nothing, except that an archived problem is restored.
CREATE FUNCTION problem_store(p_id text, p_title text, p_difficulty text, p_tags text[],
                              p_kind text, p_hash text, p_content text)
RETURNS TABLE (revision integer, changed boolean)
LANGUAGE plpgsql AS $$
DECLARE
	cur integer;
	old text;
	content jsonb;
BEGIN
	SELECT p.revision INTO cur FROM problems p WHERE p.id = p_id FOR UPDATE;
	IF cur IS NOT NULL THEN
		SELECT r.hash INTO old FROM problem_revisions r
			WHERE r.problem = p_id AND r.revision = cur;
		IF old = p_hash THEN
			UPDATE problems SET archived_at = NULL
				WHERE id = p_id AND archived_at IS NOT NULL;
			RETURN QUERY SELECT cur, false;
			RETURN;
		END IF;
	END IF;
	cur := coalesce(cur, 0) + 1;
	content := p_content::jsonb;
	INSERT INTO problems AS p (id, revision, title, difficulty, tags, kind)
		VALUES (p_id, cur, p_title, p_difficulty, p_tags, p_kind)
		ON CONFLICT (id) DO UPDATE SET revision = cur, title = p_title,
			difficulty = p_difficulty, tags = p_tags, kind = p_kind, archived_at = NULL,
			updated_at = now();
	INSERT INTO problem_revisions (problem, revision, content, hash)
		VALUES (p_id, cur, content, p_hash);
	INSERT INTO problem_tests (problem, revision, idx, name, hidden, args, expected)
		SELECT p_id, cur, (t.ord - 1)::integer, t.v->>'name', t.hidden, t.v->'args',
		       t.v->'expected'
		FROM (SELECT s.v, s.ord, false AS hidden
		      FROM jsonb_array_elements(content->'tests'->'sample') WITH ORDINALITY AS s(v, ord)
		      UNION ALL
		      SELECT h.v, h.ord + jsonb_array_length(content->'tests'->'sample'), true
		      FROM jsonb_array_elements(content->'tests'->'hidden') WITH ORDINALITY AS h(v, ord)) t;
	RETURN QUERY SELECT cur, true;
END
$$;
