// markdown.ts - Markdown for problem statements and notes, raw HTML off
// (statements come from uploads and notes from people: no markup of theirs
// reaches the page), links opened safely.
import MarkdownIt from 'markdown-it';

const md = new MarkdownIt({ html: false, linkify: true, breaks: false });
const defaultLink =
	md.renderer.rules.link_open ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
	tokens[idx]!.attrSet('target', '_blank');
	tokens[idx]!.attrSet('rel', 'noopener noreferrer');
	return defaultLink(tokens, idx, options, env, self);
};

export function renderMarkdown(src: string): string {
	return md.render(src);
}
