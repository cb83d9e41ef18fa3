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
