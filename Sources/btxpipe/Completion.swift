import ArgumentParser

/// `btxpipe completion bash|zsh|fish`: the shell completion script, to source or install.
struct Completion: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the shell completion script for bash, zsh or fish.",
        discussion: """
        bash: source <(btxpipe completion bash); zsh: btxpipe completion zsh > ~/.zfunc/_btxpipe; \
        fish: btxpipe completion fish > ~/.config/fish/completions/btxpipe.fish
        """)

    @Argument(help: "The shell: bash, zsh or fish.")
    var shell: String

    func validate() throws {
        guard CompletionShell(rawValue: shell) != nil else {
            throw ValidationError("unknown shell '\(shell)': expected bash, zsh or fish")
        }
    }

    func run() throws {
        print(BTXPipeCommand.completionScript(for: CompletionShell(rawValue: shell)!))
    }
}
