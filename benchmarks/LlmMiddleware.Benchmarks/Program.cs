using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmarks/LlmMiddleware.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
