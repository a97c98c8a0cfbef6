/**
 * Where a command line writes: the process's own streams when run, a test's buffers when its
 * `main` is called in process.
 */
export interface CommandIo {
    readonly stdout: (text: string) => void;
    readonly stderr: (text: string) => void;
}

export const PROCESS_IO: CommandIo = {
    stdout: (text) => {
        process.stdout.write(text);
    },
    stderr: (text) => {
        process.stderr.write(text);
    },
};
