// common.tsx - pieces every page shares: the full-page message (error and
// state pages), the Markdown view, time formatting.
import { Component, type ComponentChildren } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { renderMarkdown } from '../lib/markdown';

export function MessagePage(props: {
	title: string;
	children?: ComponentChildren;
	kind?: 'error' | 'info';
	testId?: string;
}) {
	return (
		<main class={`message-page ${props.kind ?? 'error'}`} data-page={props.testId}>
			<div class="message-card" role={props.kind === 'info' ? 'status' : 'alert'}>
				<div class="brand">Tandem</div>
				<h1>{props.title}</h1>
				{props.children}
			</div>
		</main>
	);
}

export function Markdown(props: { src: string; class?: string }) {
	// markdown-it runs with html: false, so the source cannot inject markup.
	const html = useMemo(() => renderMarkdown(props.src), [props.src]);
	return <div class={`markdown ${props.class ?? ''}`} dangerouslySetInnerHTML={{ __html: html }} />;
}

/**
 * Whole seconds left until `until` (a Date.now() time), counting down as
 * they pass: the number a "next try in N s" shows.
 */
export function Countdown(props: { until: number }) {
	const [now, setNow] = useState(Date.now);
	useEffect(() => {
		setNow(Date.now());
		const t = setInterval(() => setNow(Date.now()), 250);
		return () => clearInterval(t);
	}, [props.until]);
	const left = Math.max(0, Math.ceil((props.until - now) / 1000));
	return (
		<span class="countdown" data-until={props.until} data-left={left}>
			{left}
		</span>
	);
}

export function clock(ms: number): string {
	return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function duration(ms: number): string {
	const s = Math.max(0, Math.round(ms / 1000));
	const h = Math.floor(s / 3600);
	const m = Math.floor((s % 3600) / 60);
	const sec = s % 60;
	return h
		? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`
		: `${m}:${String(sec).padStart(2, '0')}`;
}

export function fmtMs(ms: number | undefined): string {
	if (ms === undefined || ms === null) return '–';
	return ms < 10 ? `${ms.toFixed(2)} ms` : ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

export function fmtKb(kb: number | undefined): string {
	if (kb === undefined || kb === null) return '–';
	return kb < 1024 ? `${kb} KB` : `${(kb / 1024).toFixed(1)} MB`;
}

/**
 * Catches what a pane throws while rendering, so one pane's bug shows a
 * message in that pane and the rest of the page keeps working.
 */
export class PaneBoundary extends Component<
	{ name: string; reset?: unknown; children?: ComponentChildren },
	{ error: string | null }
> {
	override state = { error: null as string | null };
	static override getDerivedStateFromError(e: unknown): { error: string } {
		return { error: e instanceof Error ? e.message : String(e) };
	}
	/** A new `reset` (the data the pane shows) gives the pane another try. */
	override componentDidUpdate(prev: { reset?: unknown }): void {
		if (this.state.error && prev.reset !== this.props.reset) this.setState({ error: null });
	}
	override componentDidCatch(e: unknown): void {
		console.warn(`${this.props.name} pane failed:`, e);
	}
	render() {
		if (this.state.error)
			return (
				<section
					class={`pane ${this.props.name.toLowerCase()} pane-failed`}
					role="alert"
					data-pane-failed={this.props.name}
				>
					<h2>{this.props.name}</h2>
					<p>This part of the page failed to show ({this.state.error}). The rest of the room still works.</p>
					<button type="button" onClick={() => this.setState({ error: null })}>
						Try again
					</button>
				</section>
			);
		return <>{this.props.children}</>;
	}
}
