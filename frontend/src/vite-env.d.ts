/// <reference types="vite/client" />
declare module 'virtual:tandem-crdt-wasm' {
	const url: string;
	export default url;
}
