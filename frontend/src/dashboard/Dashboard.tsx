export function Dashboard(props: { tab: 'rooms' | 'problems' }) {
	return <p>Dashboard {props.tab}</p>;
}
