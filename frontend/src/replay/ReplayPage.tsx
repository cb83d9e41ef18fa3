export function ReplayPage(props: { room: string }) {
	return <p>Replay of {props.room}</p>;
}
